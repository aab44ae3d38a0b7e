package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.GenerationRequest;
import dev.longpo.avro.Instruction;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.PreferencePair;
import dev.longpo.avro.TrainingSample;
import dev.longpo.common.Decoder;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.RunScope;
import dev.longpo.events.Topics;
import dev.longpo.producers.Ingestor;
import dev.longpo.streams.StreamsApp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The four stream applications on a real broker and registry, end to end from ingestion to training
 * samples, with stand-ins for the GPU workers and a restart of the applications half-way: every
 * document ends as exactly one training sample.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class StreamsIT {
    /**
     * The stall rule of the stand-in workers: they fail when no request of theirs came for this long, not
     * after a fixed total, so a slower machine finishes later (two stream processes joining, rebalancing and
     * restoring on two busy cores made no pair in 90 s once in CI).
     */
    private static final int STALL_SECONDS = 150;

    @TempDir
    Path dir;

    /** A run of its own: its START, and {@code docs} documents of 16 paragraphs ingested. */
    private record Fixture(String run, KafkaClients clients, int docs, Predicate<String> ours) {
    }

    private Fixture fixture(RealStack stack) throws Exception {
        String run = "it-" + UUID.randomUUID();
        String tag = run.substring(3, 11);
        KafkaClients clients = new KafkaClients(stack.config().with(Map.of("run.id", run,
                "pipeline.app.prefix", run, "pipeline.punctuate.ms", "200", "streams.commit.interval.ms", "100",
                "streams.statestore.cache.max.bytes", "0", "streams.state.dir", dir.resolve("state").toString(),
                "grouping.timeout.ms", "600000", "filter.min.words", "1", "ingest.max.chunk.tokens", "256")));
        int docs = 12;
        StringBuilder jsonl = new StringBuilder();
        for (int d = 0; d < docs; d++) {
            StringBuilder text = new StringBuilder();
            for (int p = 0; p < 16; p++) {
                text.append(p == 0 ? "" : "\\n\\n").append("Paragraph ").append(p).append(" of document ").append(d)
                        .append(". The magic number for key").append(p).append(" is ").append(1000 + d * 16 + p)
                        .append(". ").append("Filler sentence here. ".repeat(8));
            }
            jsonl.append("{\"id\":\"").append(tag).append("-doc-").append(d).append("\",\"text\":\"").append(text)
                    .append("\"}\n");
        }
        Path corpus = dir.resolve(tag + ".jsonl");
        Files.writeString(corpus, jsonl);
        try (KafkaProducer<String, SpecificRecord> producer = clients.producer("it-streams", null)) {
            producer.send(new ProducerRecord<>(Topics.ITERATIONS.name(), run, IterationEvent.newBuilder().setRunId(run)
                    .setIteration(1).setType(IterationEventType.START).setModelVersion("m0").setShortWindow(256)
                    .setMinLength(3000).setTargetLength(8000).setTheta0(1e4).setTheta1(8e4).setMaxTurns(2)
                    .setSampleBudget(100).setCreatedAt(Instant.now()).build())).get();
        }
        try (Ingestor ingestor = new Ingestor(clients)) {
            assertEquals(docs, ingestor.ingest(List.of(corpus)).documents());
        }
        return new Fixture(run, clients, docs, id -> id.startsWith(tag + "-doc-"));
    }

    /** The first half of the fixture's documents (by their number). */
    private static Predicate<String> firstHalf(Fixture f) {
        return id -> f.ours().test(id) && Integer.parseInt(id.substring(id.lastIndexOf('-') + 1)) < f.docs() / 2;
    }

    /** Waits for a sample per document, then checks each document was sampled exactly once, complete. */
    private static void assertOneSamplePerDocument(Fixture f) throws Exception {
        Map<String, Integer> samples = new HashMap<>();
        TestUtils.waitForCondition(() -> {
            samples.clear();
            for (ConsumerRecord<String, TrainingSample> r : TopicReader.readAll(f.clients(), Topics.TRAINING_SAMPLES)) {
                if (f.ours().test(r.key())) {
                    samples.merge(r.key(), 1, Integer::sum);
                }
            }
            return samples.values().stream().mapToInt(Integer::intValue).sum() >= f.docs();
        }, STALL_SECONDS * 1000L, "a training sample per document");
        Thread.sleep(1000); // a duplicate would be committed by now
        samples.clear();
        TopicReader.readAll(f.clients(), Topics.TRAINING_SAMPLES).stream().filter(r -> f.ours().test(r.key()))
                .forEach(r -> samples.merge(r.key(), 1, Integer::sum));
        assertEquals(f.docs(), samples.size(), "a sample for every document: " + samples.keySet());
        assertTrue(samples.values().stream().allMatch(n -> n == 1), "no document sampled twice: " + samples);
        List<TrainingSample> got = TopicReader.readAll(f.clients(), Topics.TRAINING_SAMPLES).stream()
                .map(ConsumerRecord::value).filter(s -> f.ours().test(s.getDocId())).toList();
        for (TrainingSample s : got) {
            assertTrue(s.getComplete());
            assertEquals(f.run(), s.getRunId(), "assembled by this run's grouping");
            assertEquals(2, s.getTurns().size());
            assertTrue(s.getLongContext().length() >= 3000);
            assertEquals(8e4, s.getTheta1());
            for (var t : s.getTurns()) {
                assertTrue(s.getLongContext().contains(t.getShortContext()), "the long context holds each chunk");
            }
        }
    }

    /** Every generation request of the run for the fixture's documents is on the topic exactly once. */
    private static void assertOneGenerationRequestEach(Fixture f) {
        Map<String, Integer> requests = new HashMap<>();
        TopicReader.readAll(f.clients(), Topics.GENERATION_REQUESTS).stream().map(ConsumerRecord::value)
                .filter(g -> f.ours().test(g.getDocId())).forEach(g -> requests.merge(g.getRunId() + ":" + g.getRequestId(), 1,
                        Integer::sum));
        assertEquals(f.docs() * 2, requests.size(), "two turns per document: " + requests.keySet());
        assertTrue(requests.entrySet().stream().allMatch(e -> e.getValue() == 1 && e.getKey().startsWith(f.run() + ":")),
                "each of this run's only, once: " + requests);
    }

    /**
     * Two runs on one cluster: both stream pipelines read every topic, and each pairs, groups and samples
     * only its own run's work (a stream process of another run paired a test's instructions once in CI).
     */
    @Test
    void twoRunsOnOneClusterEachPairAndSampleOnlyTheirOwnWork() throws Exception {
        RealStack stack = RealStack.get();
        Fixture x = fixture(stack);
        Fixture y = fixture(stack);
        try (StreamsApp ax = new StreamsApp(x.clients()); StreamsApp ay = new StreamsApp(y.clients())) {
            ax.start();
            ay.start();
            ax.awaitRunning(Duration.ofSeconds(60));
            ay.awaitRunning(Duration.ofSeconds(60));
            for (Fixture f : List.of(x, y)) {
                fakeWorkers(f.clients(), f.run() + "-w", f.ours(), f.docs() * 2, new ArrayList<>());
                assertOneSamplePerDocument(f);
                assertOneGenerationRequestEach(f);
            }
        }
    }

    @Test
    void seededStreamSurvivesARestartWithNoSampleLostOrDuplicated() throws Exception {
        Fixture f = fixture(RealStack.get());
        KafkaClients clients = f.clients();
        String run = f.run();
        int docs = f.docs();
        Predicate<String> ours = f.ours();
        StreamsApp first = new StreamsApp(clients);
        first.start();
        first.awaitRunning(Duration.ofSeconds(60));
        // stand-in GPU workers answer the first half of the documents, then the applications restart
        Predicate<String> firstHalf = firstHalf(f);
        List<String> answered = new ArrayList<>();
        fakeWorkers(clients, run + "-a", firstHalf, docs, answered);
        first.close();
        StreamsApp second = new StreamsApp(clients);
        second.start();
        second.awaitRunning(Duration.ofSeconds(60));
        try {
            fakeWorkers(clients, run + "-b", ours.and(firstHalf.negate()), docs, answered);
            assertEquals(docs * 2, answered.size(), "generation requests answered (a repeated id is a duplicate): " + answered);
            assertOneSamplePerDocument(f);
            assertOneGenerationRequestEach(f);
        } finally {
            second.close();
        }
    }

    /**
     * Scale-out of the stream processors: two {@code longpo streams} processes share every application's
     * partitions; one is SIGKILLed half-way and the survivor takes its tasks (state restored from the
     * changelogs, the killed one's open transactions aborted): still one sample per document.
     */
    @Test
    void twoStreamProcessesShareThePartitionsAndAKilledOneLosesAndDuplicatesNothing() throws Exception {
        RealStack stack = RealStack.get();
        Fixture f = fixture(stack);
        List<Process> processes = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        try {
            for (String name : List.of("a", "b")) {
                Path log = dir.resolve("streams-" + name + ".log");
                logs.add(log);
                processes.add(WorkerProcess.command(stack, log, List.of("run.id=" + f.run(), "pipeline.app.prefix=" + f.run(),
                        "pipeline.punctuate.ms=200", "streams.commit.interval.ms=100", "streams.statestore.cache.max.bytes=0",
                        "grouping.timeout.ms=600000", "filter.min.words=1",
                        "streams.state.dir=" + dir.resolve("state-" + name),
                        "streams.consumer.session.timeout.ms=10000", "streams.consumer.heartbeat.interval.ms=1000"),
                        List.of("streams")));
            }
            for (String app : List.of("fanout", "pairing", "grouping")) {
                TestUtils.waitForCondition(() -> ScaleOutIT.assignedMembers(f.clients(), f.run() + "-" + app) == 2,
                        120_000, () -> app + ": both processes hold partitions; logs:\n" + WorkerProcess.read(logs.get(0))
                                + WorkerProcess.read(logs.get(1)));
            }
            List<String> answered = new ArrayList<>();
            fakeWorkers(f.clients(), f.run() + "-a", firstHalf(f), f.docs(), answered);
            processes.get(0).destroyForcibly(); // SIGKILL
            processes.get(0).waitFor();
            fakeWorkers(f.clients(), f.run() + "-b", f.ours().and(firstHalf(f).negate()), f.docs(), answered);
            assertEquals(f.docs() * 2, answered.size(), "generation requests answered (a repeated id is a duplicate): " + answered);
            assertOneSamplePerDocument(f);
            assertTrue(processes.get(1).isAlive(), WorkerProcess.read(logs.get(1)));
        } catch (AssertionError e) {
            StringBuilder m = new StringBuilder(e.getMessage());
            for (Path log : logs) {
                String text = WorkerProcess.read(log);
                m.append("\n--- ").append(log.getFileName()).append(" (last 6000 chars)\n")
                        .append(text.substring(Math.max(0, text.length() - 6000)));
            }
            throw new AssertionError(m.toString(), e);
        } finally {
            for (Process p : processes) {
                WorkerProcess.stop(p);
            }
        }
    }

    /**
     * Answers the instruction requests of the selected documents with instructions and their generation
     * requests with preference pairs, only those of the clients' run (as the real workers do), until {@code pairs} pairs were made; adds each answered generation
     * request's id (with the group that read it, its partition and offset) to {@code answered}.
     */
    private static void fakeWorkers(KafkaClients clients, String group, Predicate<String> ours, int pairs,
                                   List<String> answered) throws Exception {
        String run = clients.config().get("run.id");
        int made = 0;
        int asked = 0;
        try (KafkaProducer<String, SpecificRecord> producer = clients.producer("it-workers", null);
             KafkaConsumer<byte[], byte[]> c = clients.rawConsumer(group, "it-workers")) {
            Decoder<InstructionRequest> reqs = new Decoder<>(clients, Topics.INSTRUCTION_REQUESTS, "it");
            Decoder<GenerationRequest> gens = new Decoder<>(clients, Topics.GENERATION_REQUESTS, "it");
            c.subscribe(List.of(Topics.INSTRUCTION_REQUESTS.name(), Topics.GENERATION_REQUESTS.name()));
            long stall = Duration.ofSeconds(STALL_SECONDS).toNanos();
            long lastProgress = System.nanoTime();
            while (made < pairs) {
                if (System.nanoTime() - lastProgress > stall) {
                    throw new AssertionError("the stand-in workers made " + made + " of " + pairs + " pairs (" + asked
                            + " instruction requests answered) and nothing new came for " + STALL_SECONDS + " s");
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.topic().equals(Topics.INSTRUCTION_REQUESTS.name())) {
                        InstructionRequest q = reqs.decode(r).value();
                        if (q == null || !ours.test(q.getDocId()) || !RunScope.takes(run, q.getRunId())) {
                            continue;
                        }
                        asked++;
                        lastProgress = System.nanoTime();
                        producer.send(new ProducerRecord<>(Topics.INSTRUCTIONS.name(), q.getDocId(), Instruction.newBuilder()
                                .setRequestId(q.getRequestId()).setRunId(q.getRunId()).setDocId(q.getDocId())
                                .setChunkIndex(q.getChunkIndex())
                                .setInstruction("Question about chunk " + q.getChunkIndex() + "?").setIteration(q.getIteration())
                                .setModelVersion("m0").setCreatedAt(Instant.now()).build()));
                    } else {
                        GenerationRequest g = gens.decode(r).value();
                        if (g == null || !ours.test(g.getDocId()) || !RunScope.takes(run, g.getRunId())) {
                            continue;
                        }
                        made++;
                        lastProgress = System.nanoTime();
                        answered.add(group.substring(group.length() - 1) + ":" + g.getRequestId() + "@" + r.partition()
                                + "/" + r.offset());
                        producer.send(new ProducerRecord<>(Topics.PREFERENCE_PAIRS.name(), g.getDocId(), PreferencePair
                                .newBuilder().setPairId(g.getRequestId()).setRequestId(g.getRequestId()).setRunId(g.getRunId())
                                .setDocId(g.getDocId()).setChunkIndex(g.getChunkIndex()).setInstruction(g.getInstruction())
                                .setShortContext(g.getShortContext()).setLongContext(g.getLongContext())
                                .setChosen("answer " + g.getChunkIndex()).setRejected("unknown value")
                                .setChosenTokenIds(List.of(1)).setRejectedTokenIds(List.of(2)).setRefChosenLogp(-1)
                                .setRefRejectedLogp(-5).setIteration(g.getIteration()).setTargetLength(g.getTargetLength())
                                .setTheta0(g.getTheta0()).setTheta1(g.getTheta1()).setModelVersion("m0")
                                .setCreatedAt(Instant.now()).build()));
                    }
                }
                producer.flush();
                c.commitSync();
            }
        }
    }

}
