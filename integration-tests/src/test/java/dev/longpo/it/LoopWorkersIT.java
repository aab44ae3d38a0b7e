package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.events.Topics;
import dev.longpo.loop.Controller;
import dev.longpo.loop.ControllerWorker;
import dev.longpo.loop.LoopSettings;
import dev.longpo.tasks.Evaluator;
import dev.longpo.workers.EvaluatorWorker;
import dev.longpo.workers.Trainer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The evaluator and controller workers on a real broker: checkpoints become scores, scores decisions. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LoopWorkersIT {
    @TempDir
    Path dir;

    @Test
    void checkpointsAreEvaluatedAndBadOnesDeadLettered() throws Exception {
        String run = "eval-" + UUID.randomUUID().toString().substring(0, 8);
        KafkaClients clients = RealStack.get().clients(run);
        Path model = dir.resolve("m");
        String sha;
        sha = TinyModel.save(model, 3);
        try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-ckpt", null)) {
            // another run's checkpoint first (same key, same partition): this run's evaluator leaves it alone
            for (String[] v : new String[][] {{run + "-other", sha, "another-run"}, {run + "-good", sha, run},
                    {run + "-bad", "0".repeat(64), run}}) {
                p.send(new ProducerRecord<>(Topics.CHECKPOINTS.name(), run, Checkpoint.newBuilder().setRunId(v[2])
                        .setModelVersion(v[0]).setUri(model.toUri().toString()).setSha256(v[1]).setSizeBytes(1).setStep(1)
                        .setIteration(1).setTheta(4e4).setMaxLength(4096).setCreatedAt(Instant.now()).build())).get();
            }
        }
        Evaluator.Settings es = Evaluator.Settings.builder(128).optTasks(List.of("niah_single", "short_mc"))
                .optLengths(List.of(64, 128)).optDepths(List.of(0.5)).optSamples(2).optSeed(1).optBatchSize(4).build();
        AtomicBoolean stop = new AtomicBoolean();
        try (EvaluatorWorker w = new EvaluatorWorker(clients, run, es, Device.cpu())) {
            Thread t = Background.start(stop, w::run);
            TestUtils.waitForCondition(() -> results(clients, run + "-good").size() >= 5, 120_000,
                    "the good checkpoint's five results");
            stop.set(true);
            t.join(30_000);
            assertTrue(w.skippedOtherRun() >= 1, "the other run's checkpoint was read and skipped");
        }
        List<EvalResult> got = results(clients, run + "-good");
        // niah_single at 64 and 128: overall and depth 0.5; short_mc once
        assertEquals(5, got.size(), got.toString());
        assertTrue(got.stream().allMatch(e -> e.getIteration() == 1 && e.getScore() >= 0 && e.getScore() <= 1));
        assertEquals(0, results(clients, run + "-bad").size());
        assertEquals(0, results(clients, run + "-other").size(), "another run's checkpoint is its own evaluator's");
        assertTrue(TopicReader.readAll(clients, Topics.DEAD_LETTER).stream().map(ConsumerRecord::value)
                .anyMatch(d -> "eval".equals(d.getStage()) && d.getReason().contains("SHA-256")));
    }

    @Test
    void theControllerPromotesOnScoresAndARestartDoesNotDecideAgain() throws Exception {
        KafkaClients clients = RealStack.get().clients();
        String run = "ctl-" + UUID.randomUUID().toString().substring(0, 8);
        Path base = dir.resolve("pi_S");
        TinyModel.save(base, 5);
        LoopSettings cs = LoopSettings.builder().setRunId(run).setShortWindow(256).optFirstStretch(8).optMaxIterations(3)
                .optSampleBudgets(List.of(4)).optMaxTurns(List.of(2)).setBase("pi_S", base.toUri().toString(), 1e4, 32)
                .optThetaRule(Controller.ThetaRule.NTK).optShortMargin(0.1).optStallMs(0)
                .optShortTasks(List.of("short_mc")).build();
        AtomicBoolean stop = new AtomicBoolean();
        try (ControllerWorker w = new ControllerWorker(clients, cs)) {
            Thread t = Background.start(stop, w::run);
            TestUtils.waitForCondition(() -> decisions(clients, run).size() >= 1, 30_000, "the first START");
            try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-ctl", null)) {
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), "pi_S", eval("pi_S", "short_mc", 128, 0.8)));
                p.send(new ProducerRecord<>(Topics.CHECKPOINTS.name(), run, Checkpoint.newBuilder().setRunId(run)
                        .setModelVersion(run + "-step-4").setUri("file:///c").setSha256("abc").setSizeBytes(1).setStep(4)
                        .setIteration(1).setTheta(9e4).setMaxLength(4096).setCreatedAt(Instant.now()).build()));
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), run, eval(run + "-step-4", "niah_single", 2048, 0.4)));
                p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), run, eval(run + "-step-4", "short_mc", 128, 0.78)));
            }
            TestUtils.waitForCondition(() -> decisions(clients, run).size() >= 3, 60_000, "PROMOTE and the next START");
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
            Thread t = Background.start(stop2, again::run);
            Thread.sleep(5000); // time to read every topic back and to decide again, if it wrongly would
            stop2.set(true);
            t.join(30_000);
            assertEquals(3, again.controller().decisions().size());
        }
        assertEquals(3, decisions(clients, run).size(), "a restarted controller publishes nothing twice");
        assertTrue(TopicReader.readAll(clients, Topics.CHECKPOINTS).stream().map(ConsumerRecord::value)
                .filter(c -> c.getRunId().equals(run)).allMatch(c -> c.getStep() == 4), "the controller writes no checkpoint");
    }

    @Test
    void theTrainerAnnouncesTheBaseModelOnceForEvaluation() throws Exception {
        KafkaClients clients = RealStack.get().clients();
        String run = "base-" + UUID.randomUUID().toString().substring(0, 8);
        Path base = dir.resolve("pi_S");
        String sha;
        sha = TinyModel.save(base, 5);
        LongpoConfig config = clients.config().with(Map.of("run.id", run, "worker.model.version", "pi_S",
                "trainer.checkpoint.dir", dir.resolve("ckpt").toString()));
        for (int start = 0; start < 2; start++) { // a restart before the first checkpoint announces nothing again
            new Trainer(new KafkaClients(config), Trainer.Settings.from(config), base, Device.cpu()).close();
        }
        List<Checkpoint> announced = TopicReader.readAll(clients, Topics.CHECKPOINTS).stream().map(ConsumerRecord::value)
                .filter(c -> c.getRunId().equals(run)).toList();
        assertEquals(1, announced.size(), announced.toString());
        Checkpoint c = announced.get(0);
        assertEquals("pi_S", c.getModelVersion());
        assertEquals(0, c.getStep());
        assertEquals(0, c.getIteration());
        assertEquals(sha, c.getSha256());
        assertEquals(base.toUri().toString(), c.getUri());
        assertEquals(10_000, c.getTheta());
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
