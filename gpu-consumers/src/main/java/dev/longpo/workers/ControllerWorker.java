package dev.longpo.workers;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.TopicFollower;
import dev.longpo.events.Topics;
import dev.longpo.loop.Controller;
import dev.longpo.model.AtomicFiles;
import dev.longpo.model.ModelConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Runs the {@link Controller} against the topics: on start it reads {@code iterations} to the end and
 * restores the decisions already published; if there are none it announces the base model for
 * evaluation and starts iteration 1; then it follows
 * {@code checkpoints}, {@code eval-results} and {@code training-metrics} from the beginning (a fresh
 * consumer group each start, so its state is always rebuilt from the topics), passes the time to the
 * controller every half second (so a quiet iteration ends), and publishes what it decides.
 */
public final class ControllerWorker implements AutoCloseable {
    private final KafkaClients clients;
    private final Controller.Settings settings;
    private final Controller controller;
    private final KafkaProducer<String, SpecificRecord> producer;

    public ControllerWorker(KafkaClients clients, Controller.Settings settings) {
        this.clients = clients;
        this.settings = settings;
        this.controller = new Controller(settings);
        this.producer = clients.producer("controller-" + settings.runId(), null);
    }

    public Controller controller() {
        return controller;
    }

    public void run(AtomicBoolean stop, PrintStream log) throws IOException {
        List<IterationEvent> published = new ArrayList<>();
        try (TopicFollower past = new TopicFollower(clients, List.of(Topics.ITERATIONS), log)) {
            past.readToEnd(Duration.ofMinutes(1)).forEach(e -> published.add((IterationEvent) e));
        }
        controller.restore(published);
        List<IterationEvent> first = controller.start();
        if (!first.isEmpty()) {
            announceBase(log);
        }
        publish(first, log);
        try (TopicFollower inputs = new TopicFollower(clients,
                List.of(Topics.CHECKPOINTS, Topics.EVAL_RESULTS, Topics.TRAINING_METRICS), log)) {
            while (!stop.get() && !controller.stopped()) {
                for (SpecificRecord event : inputs.poll(Duration.ofMillis(500))) {
                    publish(controller.on(event), log);
                }
                publish(controller.tick(System.currentTimeMillis()), log);
            }
        }
    }

    /**
     * A fresh run announces its base model (pi_S) as step 0 of iteration 0 on {@code checkpoints}, so the
     * evaluator scores it with the same suite as every checkpoint and the gate has pi_S's short score.
     */
    private void announceBase(PrintStream log) throws IOException {
        Controller.Settings s = settings;
        Path dir = Path.of(URI.create(s.baseUri()));
        Path weights = dir.resolve("model.safetensors");
        ModelConfig mc = ModelConfig.read(dir.resolve("config.json"));
        producer.send(new ProducerRecord<>(Topics.CHECKPOINTS.name(), s.runId(), Checkpoint.newBuilder().setRunId(s.runId())
                .setModelVersion(s.baseVersion()).setUri(s.baseUri()).setSha256(AtomicFiles.sha256(weights))
                .setSizeBytes(Files.size(weights)).setStep(0).setIteration(0).setTheta(s.theta0())
                .setMaxLength(mc.maxPositionEmbeddings()).setCreatedAt(Instant.now()).build()));
        log.printf("controller: announced base model %s for evaluation%n", s.baseVersion());
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
