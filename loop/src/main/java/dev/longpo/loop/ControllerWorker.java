package dev.longpo.loop;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.common.CheckpointStore;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.Telemetry;
import dev.longpo.common.TopicFollower;
import dev.longpo.events.Topics;
import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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
 * restores the decisions already published; if there are none it announces the base model for
 * evaluation (published to the checkpoint store like every checkpoint) and starts iteration 1; then it follows {@code checkpoints}, {@code eval-results} and
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
        List<IterationEvent> first = controller.start();
        if (!first.isEmpty()) {
            announceBase();
        }
        publish(first);
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

    /**
     * A fresh run announces its base model (pi_S) as step 0 of iteration 0 on {@code checkpoints}, so the
     * evaluator scores it with the same suite as every checkpoint and the gate has pi_S's short score.
     */
    private void announceBase() throws IOException {
        LoopSettings s = settings;
        Path dir = Path.of(URI.create(s.baseUri()));
        Path weights = dir.resolve(CheckpointStore.WEIGHTS);
        URI published = CheckpointStore.forPublishing(clients.config()).publish(dir, s.runId(), s.baseVersion());
        producer.send(new ProducerRecord<>(Topics.CHECKPOINTS.name(), s.runId(), Checkpoint.newBuilder().setRunId(s.runId())
                .setModelVersion(s.baseVersion()).setUri(published.toString()).setSha256(AtomicFiles.sha256(weights))
                .setSizeBytes(Files.size(weights)).setStep(0).setIteration(0).setTheta(s.theta0())
                .setMaxLength(s.targetLength(s.maxIterations())).setCreatedAt(Instant.now()).build()));
        LOG.info("announced base model {} for evaluation", s.baseVersion());
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
