package dev.longpo.loop;

import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.Telemetry;
import dev.longpo.common.TopicFollower;
import dev.longpo.events.Topics;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link Controller} against the topics: on start it reads {@code iterations} to the end and
 * restores the decisions already published; if there are none it starts iteration 1 (the trainer announces
 * the base model, pi_S, for evaluation: it alone writes {@code checkpoints}); then it follows {@code checkpoints}, {@code eval-results} and
 * {@code training-metrics} from the beginning (a fresh consumer each start, so its state is always
 * rebuilt from the topics), and the stages before the trainer and the dead letters from their end
 * ({@link RunEvent#PIPELINE_TOPICS}: only their liveness matters), passes the time to the controller
 * every half second (so a quiet iteration ends), and publishes what it decides.
 */
public final class ControllerWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControllerWorker.class);
    private final KafkaClients clients;
    private final LoopSettings settings;
    private final Controller controller;
    private final KafkaProducer<String, SpecificRecord> producer;
    private final Telemetry.Scope metrics;
    private final AtomicInteger iteration = new AtomicInteger();
    private final Map<IterationEventType, AtomicLong> decided = new EnumMap<>(IterationEventType.class);

    public ControllerWorker(KafkaClients clients, LoopSettings settings) {
        this.clients = clients;
        this.settings = settings;
        this.controller = new Controller(settings);
        this.producer = clients.producer("controller-" + settings.runId(), null);
        this.metrics = Telemetry.scope("stage", "control", "instance", settings.runId());
        metrics.bind(producer);
        metrics.gauge("longpo.loop.iteration", "the iteration in progress (0 before the first START)", iteration,
                AtomicInteger::get);
        for (IterationEventType type : IterationEventType.values()) {
            AtomicLong n = new AtomicLong();
            decided.put(type, n);
            metrics.counter("longpo.loop.decisions", "the run's decisions by type (restored ones included)", n,
                    AtomicLong::get, "type", type.name());
        }
    }

    /** Keeps the exposed iteration and decision counts up to date (the controller's own state is not thread-safe). */
    private void count(List<IterationEvent> decisions) {
        for (IterationEvent e : decisions) {
            decided.get(e.getType()).incrementAndGet();
            if (e.getType() == IterationEventType.START) {
                iteration.set(e.getIteration());
            }
        }
    }

    public Controller controller() {
        return controller;
    }

    /** Decides until {@code stop} is set or the run is stopped. */
    public void run(AtomicBoolean stop) throws IOException {
        List<IterationEvent> published = new ArrayList<>();
        try (TopicFollower past = new TopicFollower(clients, List.of(Topics.ITERATIONS))) {
            past.readToEnd(Duration.ofMinutes(1)).forEach(e -> published.add((IterationEvent) e));
        }
        controller.restore(published);
        count(controller.decisions());
        publish(controller.start());
        try (TopicFollower inputs = new TopicFollower(clients,
                List.of(Topics.CHECKPOINTS, Topics.EVAL_RESULTS, Topics.TRAINING_METRICS));
             TopicFollower pipeline = TopicFollower.fromEnd(clients, RunEvent.PIPELINE_TOPICS)) {
            while (!stop.get() && !controller.stopped()) {
                for (SpecificRecord event : inputs.poll(Duration.ofMillis(250))) {
                    publish(controller.on(RunEvent.of(event)));
                }
                for (SpecificRecord event : pipeline.poll(Duration.ofMillis(250))) {
                    publish(controller.on(RunEvent.of(event)));
                }
                publish(controller.tick(System.currentTimeMillis()));
            }
        }
    }

    private void publish(List<IterationEvent> decisions) {
        count(decisions);
        for (IterationEvent e : decisions) {
            producer.send(new ProducerRecord<>(Topics.ITERATIONS.name(), e.getRunId(), e));
            LOG.info("{} iteration {} ({}): {}", e.getType(), e.getIteration(), e.getModelVersion(), e.getReason());
        }
        producer.flush();
    }

    @Override
    public void close() {
        metrics.close();
        producer.close(Duration.ofSeconds(10));
    }
}
