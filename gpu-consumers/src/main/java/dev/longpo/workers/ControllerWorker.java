package dev.longpo.workers;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.TopicScanner;
import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import dev.longpo.loop.Controller;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Runs the {@link Controller} against the topics: on start it reads {@code iterations} to the end and
 * restores the decisions already published, starts iteration 1 if there are none, then follows
 * {@code checkpoints} and {@code eval-results} from the beginning (a fresh consumer group each start,
 * so its state is always rebuilt from the topics) and publishes what it decides.
 */
public final class ControllerWorker implements AutoCloseable {
    private final KafkaClients clients;
    private final Controller controller;
    private final KafkaProducer<String, SpecificRecord> producer;

    public ControllerWorker(KafkaClients clients, Controller.Settings settings) {
        this.clients = clients;
        this.controller = new Controller(settings);
        this.producer = clients.producer("controller-" + settings.runId(), null);
    }

    public Controller controller() {
        return controller;
    }

    public void run(AtomicBoolean stop, PrintStream log) {
        var serde = clients.serde(Topics.ITERATIONS);
        List<IterationEvent> published = new ArrayList<>();
        TopicScanner.scan(clients, Topics.ITERATIONS.name(), Duration.ofMinutes(1), r -> {
            try {
                published.add(serde.deserialize(r.topic(), r.value()));
            } catch (RuntimeException e) {
                log.println("controller: skipping an undecodable iterations record at offset " + r.offset());
            }
        });
        controller.restore(published);
        publish(controller.start(), log);
        Map<String, Topic<? extends SpecificRecord>> inputs = Map.of(Topics.CHECKPOINTS.name(), Topics.CHECKPOINTS,
                Topics.EVAL_RESULTS.name(), Topics.EVAL_RESULTS);
        try (KafkaConsumer<byte[], byte[]> c = clients.rawConsumer("controller-" + UUID.randomUUID(), "controller")) {
            c.subscribe(List.copyOf(inputs.keySet()));
            while (!stop.get() && !controller.stopped()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    Object event;
                    try {
                        event = clients.serde(inputs.get(r.topic())).deserialize(r.topic(), r.value());
                    } catch (RuntimeException e) {
                        log.println("controller: skipping an undecodable " + r.topic() + " record: " + e.getMessage());
                        continue;
                    }
                    if (event instanceof Checkpoint || event instanceof EvalResult) {
                        publish(controller.on(event), log);
                    }
                }
            }
        }
    }

    private void publish(List<IterationEvent> decisions, PrintStream log) {
        for (IterationEvent e : decisions) {
            producer.send(new ProducerRecord<>(Topics.ITERATIONS.name(), e.getRunId(), e));
            log.printf("controller: %s iteration %d (%s): %s%n", e.getType(), e.getIteration(), e.getModelVersion(),
                    e.getReason());
        }
        producer.flush();
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
    }
}
