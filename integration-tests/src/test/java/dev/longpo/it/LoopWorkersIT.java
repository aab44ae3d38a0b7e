package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import dev.longpo.loop.Controller;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelConfig;
import dev.longpo.model.ModelStore;
import dev.longpo.tasks.Evaluator;
import dev.longpo.workers.ControllerWorker;
import dev.longpo.workers.EvaluatorWorker;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The evaluator and controller workers on a real broker: checkpoints become scores, scores decisions. */
class LoopWorkersIT {
    @TempDir
    Path dir;

    interface Body {
        void run(AtomicBoolean stop) throws Exception;
    }

    private static Thread background(AtomicBoolean stop, Body body) {
        Thread t = new Thread(() -> {
            try {
                body.run(stop);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        t.start();
        return t;
    }

    private static void await(BooleanSupplier done, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(300);
        }
    }

    @Test
    void checkpointsAreEvaluatedAndBadOnesDeadLettered() throws Exception {
        KafkaClients clients = RealStack.get().clients();
        String run = "eval-" + UUID.randomUUID().toString().substring(0, 8);
        Path model = dir.resolve("m");
        String sha;
        try (LlamaModel m = LlamaModel.random(ModelConfig.mini(2, 32, 4, 2, 48, 10_000, 4096), Device.cpu(), 3)) {
            sha = ModelStore.save(m, model, Map.of());
        }
        try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-ckpt", null)) {
            for (String[] v : new String[][] {{run + "-good", sha}, {run + "-bad", "0".repeat(64)}}) {
                p.send(new ProducerRecord<>(Topics.CHECKPOINTS.name(), run, Checkpoint.newBuilder().setRunId(run)
                        .setModelVersion(v[0]).setUri(model.toUri().toString()).setSha256(v[1]).setSizeBytes(1).setStep(1)
                        .setIteration(1).setTheta(4e4).setMaxLength(4096).setCreatedAt(Instant.now()).build())).get();
            }
        }
        Evaluator.Settings es = new Evaluator.Settings(List.of("niah_single", "short_math"), List.of(64, 128),
                List.of(0.5), 2, 2, 1, 4, 0.8);
        AtomicBoolean stop = new AtomicBoolean();
        try (EvaluatorWorker w = new EvaluatorWorker(clients, run, es, Device.cpu())) {
            Thread t = background(stop, s -> w.run(s, new PrintStream(PrintStream.nullOutputStream())));
            await(() -> results(clients, run + "-good").size() >= 5, Duration.ofSeconds(120));
            stop.set(true);
            t.join(30_000);
        }
        List<EvalResult> got = results(clients, run + "-good");
        // niah_single at 64 and 128: overall and depth 0.5; short_math once
        assertEquals(5, got.size(), got.toString());
        assertTrue(got.stream().allMatch(e -> e.getIteration() == 1 && e.getScore() >= 0 && e.getScore() <= 1));
        assertEquals(0, results(clients, run + "-bad").size());
        assertTrue(TopicReader.readAll(clients, Topics.DEAD_LETTER).stream().map(ConsumerRecord::value)
                .anyMatch(d -> "eval".equals(d.getStage()) && d.getReason().contains("SHA-256")));
    }

    @Test
    void theControllerPromotesOnScoresAndARestartDoesNotDecideAgain() throws Exception {
        KafkaClients clients = RealStack.get().clients();
        String run = "ctl-" + UUID.randomUUID().toString().substring(0, 8);
        Path base = dir.resolve("pi_S");
        try (LlamaModel m = LlamaModel.random(ModelConfig.mini(2, 32, 4, 2, 48, 10_000, 4096), Device.cpu(), 5)) {
            ModelStore.save(m, base, Map.of());
        }
        Controller.Settings cs = new Controller.Settings(run, 256, 3, List.of(4), 1, List.of(2), 1e4, 32, Controller.ThetaRule.NTK, 0.1,
                false, 0, 0, "short_math", "pi_S",
                base.toUri().toString());
        AtomicBoolean stop = new AtomicBoolean();
        try (ControllerWorker w = new ControllerWorker(clients, cs)) {
            Thread t = background(stop, s -> w.run(s, new PrintStream(PrintStream.nullOutputStream())));
            await(() -> decisions(clients, run).size() >= 1, Duration.ofSeconds(30));
            try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-ctl", null)) {
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), "pi_S", eval("pi_S", "short_math", 128, 0.8)));
                p.send(new ProducerRecord<>(Topics.CHECKPOINTS.name(), run, Checkpoint.newBuilder().setRunId(run)
                        .setModelVersion(run + "-step-4").setUri("file:///c").setSha256("abc").setSizeBytes(1).setStep(4)
                        .setIteration(1).setTheta(9e4).setMaxLength(4096).setCreatedAt(Instant.now()).build()));
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), run, eval(run + "-step-4", "niah_single", 2048, 0.4)));
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), run, eval(run + "-step-4", "short_math", 128, 0.78)));
            }
            await(() -> decisions(clients, run).size() >= 3, Duration.ofSeconds(60));
            stop.set(true);
            t.join(30_000);
        }
        List<IterationEvent> d = decisions(clients, run);
        assertEquals(List.of(IterationEventType.START, IterationEventType.PROMOTE, IterationEventType.START),
                d.stream().map(IterationEvent::getType).toList());
        assertEquals(4096, d.get(2).getTargetLength());
        assertEquals("file:///c", d.get(2).getCheckpointUri());

        AtomicBoolean stop2 = new AtomicBoolean();
        try (ControllerWorker again = new ControllerWorker(clients, cs)) {
            Thread t = background(stop2, s -> again.run(s, new PrintStream(PrintStream.nullOutputStream())));
            Thread.sleep(5000);
            stop2.set(true);
            t.join(30_000);
            assertEquals(3, again.controller().decisions().size());
        }
        assertEquals(3, decisions(clients, run).size(), "a restarted controller publishes nothing twice");
        List<Checkpoint> announced = TopicReader.readAll(clients, Topics.CHECKPOINTS).stream().map(ConsumerRecord::value)
                .filter(c -> c.getRunId().equals(run) && c.getStep() == 0).toList();
        assertEquals(1, announced.size(), "the base model is announced for evaluation once");
        assertEquals("pi_S", announced.get(0).getModelVersion());
    }

    private static EvalResult eval(String version, String task, int length, double score) {
        return EvalResult.newBuilder().setModelVersion(version).setIteration(1).setTask(task).setLength(length)
                .setScore(score).setN(10).setCreatedAt(Instant.now()).build();
    }

    private static List<EvalResult> results(KafkaClients clients, String version) {
        return TopicReader.readAll(clients, Topics.EVAL_RESULTS).stream().map(ConsumerRecord::value)
                .filter(e -> e.getModelVersion().equals(version)).toList();
    }

    private static List<IterationEvent> decisions(KafkaClients clients, String run) {
        return TopicReader.readAll(clients, Topics.ITERATIONS).stream().map(ConsumerRecord::value)
                .filter(e -> e.getRunId().equals(run)).toList();
    }
}
