package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.PreferencePair;
import dev.longpo.avro.TrainingSample;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import dev.longpo.files.AtomicFiles;
import dev.longpo.workers.ModelSlot;
import dev.longpo.workers.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers as separate processes on a real broker and registry, killed with SIGKILL at a random moment
 * and restarted: the trainer applies every training sample exactly once (its checkpoint ledger), the
 * response generator publishes exactly one pair per request (read_committed).
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class WorkerCrashIT {
    @TempDir
    static Path dir;
    static Path model;
    /**
     * A stack of this class's own: its workers read their input topics from the beginning, so records
     * other tests left there (long stream-processor samples) would make the timing depend on test order.
     */
    static RealStack stack;

    @BeforeAll
    static void tinyModel() throws Exception {
        stack = RealStack.isolated();
        model = dir.resolve("tiny");
        TinyModel.save(model, 5);
    }

    @AfterAll
    static void stopStack() {
        stack.close();
    }

    private static Process worker(RealStack stack, String role, String run, Path log, String... extra) throws Exception {
        return WorkerProcess.start(stack, model, role, log, List.of("run.id=" + run, "trainer.checkpoint.dir=" + dir.resolve("ckpt"),
                "trainer.checkpoint.every=2", "trainer.idle.checkpoint.ms=1500", "worker.batch=4", "respond.max.new.tokens=6",
                "model.threads=1"), extra);
    }

    /** The ledger of the newest checkpoint's trainer state (state.json), read as any tool would. */
    private static List<String> ledger(Path ckptRoot, String run) throws Exception {
        var newest = Trainer.newest(ckptRoot, run);
        if (newest.isEmpty()) {
            return List.of();
        }
        return new ObjectMapper().readValue(newest.get().resolve("state.json").toFile(), Trainer.TrainerState.class)
                .ledger();
    }

    @Test
    void killedTrainerAppliesEverySampleExactlyOnce() throws Exception {
        KafkaClients clients = stack.clients();
        String run = "crash-" + UUID.randomUUID().toString().substring(0, 8);
        List<String> produced = new ArrayList<>();
        Random rnd = new Random();
        try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-samples", null)) {
            for (int i = 0; i < 24; i++) {
                String id = run + "-s" + i;
                produced.add(id);
                p.send(new ProducerRecord<>(Topics.TRAINING_SAMPLES.name(), id, TestSamples.oneTurn(id, 1, i, "Filler. ".repeat(30)
                        + "The key is " + i + ". " + "More. ".repeat(20), 2e4)));
            }
        }
        Path log = dir.resolve(run + ".log");
        Process first = worker(stack, "train", run, log, "--exit-when-idle");
        TestUtils.waitForCondition(() -> Trainer.newest(dir.resolve("ckpt"), run).isPresent() || !first.isAlive(),
                120_000, "the first checkpoint");
        Thread.sleep(rnd.nextInt(800));
        List<String> before = ledger(dir.resolve("ckpt"), run);
        assertTrue(first.isAlive(), "trainer exited before it could be killed; log: " + Files.readString(log));
        first.destroyForcibly(); // SIGKILL
        first.waitFor();
        long oursBefore = before.stream().filter(produced::contains).count();
        assertTrue(oursBefore < produced.size(), "killed after it had finished: no crash was tested");

        Process second = worker(stack, "train", run, log, "--exit-when-idle");
        assertTrue(second.waitFor(180, java.util.concurrent.TimeUnit.SECONDS),
                () -> "restarted trainer did not finish; log: " + read(log));
        assertEquals(0, second.exitValue(), Files.readString(log));
        List<String> ours = ledger(dir.resolve("ckpt"), run).stream().filter(produced::contains).sorted().toList();
        assertEquals(produced.stream().sorted().toList(), ours, "every sample exactly once; log: " + Files.readString(log));
        assertTrue(Files.readString(log).contains("ready at step"), Files.readString(log));

        // the newest checkpoint was announced with the SHA-256 of the weights on disk
        Path newest = Trainer.newest(dir.resolve("ckpt"), run).orElseThrow();
        List<Checkpoint> announced = TopicReader.readAll(clients, Topics.CHECKPOINTS).stream().map(ConsumerRecord::value)
                .filter(c -> c.getRunId().equals(run)).toList();
        Checkpoint last = announced.get(announced.size() - 1);
        assertEquals(newest.toUri().toString(), last.getUri());
        assertEquals(AtomicFiles.sha256(newest.resolve("model.safetensors")), last.getSha256());
        assertEquals(1, last.getIteration());
        assertTrue(last.getOffsets().stream().anyMatch(o -> o.getTopic().equals(Topics.TRAINING_SAMPLES.name())));
    }

    @Test
    void theTrainerSkipsTheLeftoversOfAnIterationTheControllerHasMovedPastAndAnotherRunsSamples() throws Exception {
        KafkaClients clients = stack.clients();
        String run = "stale-" + UUID.randomUUID().toString().substring(0, 8);
        List<String> fresh = new ArrayList<>();
        try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-stale", null)) {
            p.send(new ProducerRecord<>(Topics.ITERATIONS.name(), run, IterationEvent.newBuilder().setRunId(run)
                    .setIteration(2).setType(IterationEventType.START).setModelVersion("m1").setShortWindow(128)
                    .setMinLength(256).setTargetLength(512).setTheta0(1e4).setTheta1(1e4).setMaxTurns(1).setSampleBudget(4)
                    .setReason("test").setCreatedAt(Instant.now()).build()));
            for (int i = 0; i < 10; i++) {
                int iteration = i < 4 ? 1 : 2;
                String id = run + "-i" + iteration + "-s" + i;
                // 4-7 of this run (scoped or not), 8-9 another run's of the same iteration number
                String sampleRun = i >= 8 ? "another-run" : i % 2 == 0 ? run : "";
                if (iteration == 2 && i < 8) {
                    fresh.add(id);
                }
                p.send(new ProducerRecord<>(Topics.TRAINING_SAMPLES.name(), id, TrainingSample.newBuilder(TestSamples
                        .oneTurn(id, iteration, i, "Filler. ".repeat(10) + "The key is " + i + ".", 1e4))
                        .setRunId(sampleRun).build()));
            }
        }
        Path log = dir.resolve(run + ".log");
        Process trainer = worker(stack, "train", run, log, "--exit-when-idle");
        assertTrue(trainer.waitFor(180, TimeUnit.SECONDS), () -> "trainer did not finish; log: " + read(log));
        assertEquals(0, trainer.exitValue(), Files.readString(log));
        List<String> ours = ledger(dir.resolve("ckpt"), run).stream().filter(id -> id.startsWith(run)).toList();
        assertEquals(fresh, ours, "iteration 1's leftovers, after the START of iteration 2, and another run's samples"
                + " are skipped; log: "
                + Files.readString(log));
    }

    @Test
    void theTrainerCommitsItsCheckpointOffsetsAndARestartAnnouncesAnUnannouncedCheckpoint() throws Exception {
        KafkaClients clients = stack.clients();
        String tag = UUID.randomUUID().toString().substring(0, 8);
        String runA = "book-a-" + tag;
        String runB = "book-b-" + tag;
        try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-book", null)) {
            for (int i = 0; i < 4; i++) {
                String id = runA + "-s" + i;
                p.send(new ProducerRecord<>(Topics.TRAINING_SAMPLES.name(), id, TestSamples.oneTurn(id, 1, i, "Filler. The key is " + i + ".",
                        1e4)));
            }
        }
        Path log = dir.resolve(runA + ".log");
        Process a = worker(stack, "train", runA, log, "--exit-when-idle");
        assertTrue(a.waitFor(180, TimeUnit.SECONDS), () -> "trainer did not finish; log: " + read(log));
        assertEquals(0, a.exitValue(), Files.readString(log));
        Path newestA = Trainer.newest(dir.resolve("ckpt"), runA).orElseThrow();
        ObjectMapper json = new ObjectMapper();
        Trainer.TrainerState state = json.readValue(newestA.resolve("state.json").toFile(), Trainer.TrainerState.class);

        // lag tools see the checkpoint's offsets as the trainer group's committed offsets
        try (var admin = clients.admin()) {
            var committed = admin.listConsumerGroupOffsets("longpo-trainer-" + runA).partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS);
            state.offsets().forEach((partition, offset) -> assertEquals(offset, committed.get(
                    new org.apache.kafka.common.TopicPartition(Topics.TRAINING_SAMPLES.name(), partition)).offset()));
        }

        // run B's trainer "crashed" after writing this checkpoint and before announcing it
        Path newestB = dir.resolve("ckpt").resolve(runB).resolve(newestA.getFileName());
        Files.createDirectories(newestB);
        try (var files = Files.list(newestA)) {
            for (Path f : files.toList()) {
                Files.copy(f, newestB.resolve(f.getFileName()));
            }
        }
        String versionB = state.modelVersion().replace(runA, runB);
        json.writeValue(newestB.resolve("state.json").toFile(), new Trainer.TrainerState(runB, versionB,
                state.newestIteration(), state.offsets(), state.ledger()));
        Path logB = dir.resolve(runB + ".log");
        Process b = worker(stack, "train", runB, logB, "--exit-when-idle");
        assertTrue(b.waitFor(180, TimeUnit.SECONDS), () -> "trainer did not finish; log: " + read(logB));
        assertEquals(0, b.exitValue(), Files.readString(logB));
        List<Checkpoint> announcedB = TopicReader.readAll(clients, Topics.CHECKPOINTS).stream().map(ConsumerRecord::value)
                .filter(c -> c.getRunId().equals(runB)).toList();
        assertEquals(List.of(versionB), announcedB.stream().map(Checkpoint::getModelVersion).toList(),
                "the unannounced checkpoint is announced once on restart; log: " + Files.readString(logB));
        assertEquals(newestB.toUri().toString(), announcedB.get(0).getUri());
        assertEquals(AtomicFiles.sha256(newestB.resolve("model.safetensors")), announcedB.get(0).getSha256());
    }

    @Test
    void aTrainerWhoseCheckpointFolderIsNotWritableStopsBeforeTrainingWithAClearError() throws Exception {
        String run = "ro-" + UUID.randomUUID().toString().substring(0, 8);
        Path blocked = dir.resolve("blocked-" + run);
        Files.writeString(blocked, "a file where the checkpoint folder should be");
        Path log = dir.resolve(run + ".log");
        Process t = worker(stack, "train", run, log, "--exit-when-idle", "--set", "trainer.checkpoint.dir=" + blocked);
        assertTrue(t.waitFor(120, TimeUnit.SECONDS), () -> "trainer did not stop; log: " + read(log));
        assertTrue(t.exitValue() != 0, "a trainer that cannot checkpoint must not run; log: " + read(log));
        assertTrue(read(log).contains("cannot create the checkpoint folder " + blocked.resolve(run)), read(log));
    }

    @Test
    void killedResponseGeneratorPublishesExactlyOnePairPerRequest() throws Exception {
        KafkaClients clients = stack.clients();
        String run = "respond-" + UUID.randomUUID().toString().substring(0, 8);
        List<String> requests = new ArrayList<>();
        try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-requests", null)) {
            // six batches of 8: the kill comes after the first committed batch, with most still to do
            for (int i = 0; i < 48; i++) {
                String id = run + "/1/" + i;
                requests.add(id);
                p.send(new ProducerRecord<>(Topics.GENERATION_REQUESTS.name(), run + "-d" + (i % 4), GenerationRequest
                        .newBuilder().setRequestId(id).setDocId(run + "-d" + (i % 4)).setChunkIndex(i)
                        .setInstruction("What is the key?").setShortContext("The key is " + i + ".")
                        .setLongContext("Filler. ".repeat(40) + "The key is " + i + ".").setDocSha256("s").setIteration(1)
                        .setTargetLength(512).setTheta0(1e4).setTheta1(2e4).setModelVersion("pi_S")
                        .setCreatedAt(Instant.now()).build()));
            }
        }
        Path log = dir.resolve(run + ".log");
        Process first = worker(stack, "respond", run, log);
        TestUtils.waitForCondition(() -> ours(clients, run).size() >= 4, 120_000, "the first committed batch");
        Thread.sleep(new Random().nextInt(500));
        assertTrue(first.isAlive(), Files.readString(log));
        first.destroyForcibly(); // SIGKILL, possibly inside a transaction
        first.waitFor();
        assertTrue(ours(clients, run).size() < requests.size(), "killed after it had finished: no crash was tested");

        Process second = worker(stack, "respond", run, log);
        try {
            TestUtils.waitForCondition(() -> ours(clients, run).size() >= requests.size(), 120_000,
                    () -> "a pair for every request; " + ours(clients, run).size() + " so far; log: " + read(log));
            Thread.sleep(2000); // anything duplicated would be committed by now
        } finally {
            WorkerProcess.stop(second);
        }
        List<String> pairs = ours(clients, run).stream().map(PreferencePair::getPairId).sorted().toList();
        assertEquals(requests.stream().sorted().toList(), pairs, "one pair per request; log: " + Files.readString(log));
    }

    @Test
    void generatorsSwitchToAPromotedCheckpointOnlyWhenItsShaMatches() throws Exception {
        KafkaClients clients = stack.clients();
        String run = "slot-" + UUID.randomUUID().toString().substring(0, 8);
        Path next = dir.resolve("next-" + run);
        String sha;
        sha = TinyModel.save(next, 77);
        try (ModelSlot slot = new ModelSlot(clients, run, model, "pi_S", Device.cpu());
             KafkaProducer<String, SpecificRecord> p = clients.producer("it-slot", null)) {
            assertTrue(!slot.refresh(), "nothing announced yet");
            p.send(new ProducerRecord<>(Topics.ITERATIONS.name(), run, start(run, "bad", next, "0".repeat(64)))).get();
            IOException[] refused = new IOException[1];
            TestUtils.waitForCondition(() -> {
                try {
                    slot.refresh();
                    return false;
                } catch (IOException e) {
                    refused[0] = e;
                    return true;
                }
            }, 20_000, "a checkpoint whose SHA-256 does not match is refused");
            assertTrue(refused[0].getMessage().contains("SHA-256"), refused[0].getMessage());
            assertEquals("pi_S", slot.version());
            p.send(new ProducerRecord<>(Topics.ITERATIONS.name(), run, start(run, "good", next, sha))).get();
            TestUtils.waitForCondition(() -> slot.refresh() || slot.version().equals("good"), 20_000,
                    "the switch to the good checkpoint");
            assertEquals("good", slot.version());
        }
    }

    private static IterationEvent start(String run, String version, Path dir, String sha) {
        return IterationEvent.newBuilder().setRunId(run).setIteration(2).setType(IterationEventType.START)
                .setModelVersion(version).setCheckpointUri(dir.toUri().toString()).setCheckpointSha256(sha)
                .setShortWindow(256).setMinLength(2048).setTargetLength(4096).setTheta0(1e4).setTheta1(2e5)
                .setMaxTurns(2).setSampleBudget(10).setCreatedAt(Instant.now()).build();
    }

    private static String read(Path log) {
        return WorkerProcess.read(log);
    }

    private static List<PreferencePair> ours(KafkaClients clients, String run) {
        return TopicReader.readAll(clients, Topics.PREFERENCE_PAIRS).stream().map(ConsumerRecord::value)
                .filter(p -> p.getRequestId().startsWith(run + "/")).toList();
    }
}
