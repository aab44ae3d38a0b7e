package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.avro.PreferencePair;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
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
 * Horizontal scale-out by consumer group, with separate worker processes on a real broker: two response
 * generators split the requests of the 3-partition {@code generation-requests} topic, one is SIGKILLed
 * mid-batch, the survivor takes its partitions and every request ends as exactly one pair; two evaluators
 * share the 1-partition {@code checkpoints} topic as active and standby, and the standby finishes what a
 * killed active one left. Which worker did what is read from each process's Prometheus endpoint.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class ScaleOutIT {
    @TempDir
    static Path dir;
    static Path model;
    static String sha;
    static RealStack stack;

    @BeforeAll
    static void tinyModel() throws Exception {
        stack = RealStack.isolated();
        model = dir.resolve("tiny");
        sha = TinyModel.save(model, 5);
    }

    @AfterAll
    static void stopStack() {
        stack.close();
    }

    /** Settings of one scale-out group: its own consumer groups, fast failure detection, a metrics endpoint. */
    private static List<String> settings(String run, String... more) {
        List<String> s = new ArrayList<>(List.of("run.id=" + run, "pipeline.app.prefix=" + run, "model.threads=1",
                "metrics.port=0", "metrics.host=127.0.0.1", "worker.status.ms=600000",
                // a SIGKILLed member is noticed after the session timeout, not the default 45 s
                "consumer.session.timeout.ms=6000", "consumer.heartbeat.interval.ms=1000"));
        s.addAll(List.of(more));
        return s;
    }

    /** Records the worker's transactions committed as processed, from its Prometheus endpoint (-1 before it serves). */
    private static double processed(Path log, String stage, String instance) {
        var port = WorkerProcess.metricsPort(log);
        if (port.isEmpty()) {
            return -1;
        }
        try {
            String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + port.getAsInt() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = Pattern.compile("(?m)^longpo_worker_records_total\\{instance=\"" + instance
                    + "\",outcome=\"processed\",stage=\"" + stage + "\"} (\\S+)$").matcher(text);
            return m.find() ? Double.parseDouble(m.group(1)) : -1;
        } catch (Exception e) {
            return -1; // not serving (yet, or any more)
        }
    }

    /** Members of {@code group} that hold at least one partition. */
    static long assignedMembers(KafkaClients clients, String group) throws Exception {
        try (var admin = clients.admin()) {
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get(30, TimeUnit.SECONDS)
                    .get(group);
            return d.members().stream().filter(m -> !m.assignment().topicPartitions().isEmpty()).count();
        }
    }

    @Test
    void twoResponseGeneratorsSplitTheRequestsAndTheSurvivorFinishesTheKilledOnesShare() throws Exception {
        KafkaClients clients = stack.clients();
        String run = "scale-" + UUID.randomUUID().toString().substring(0, 8);
        List<String> s = settings(run, "worker.batch=4", "respond.max.new.tokens=6");
        Path logA = dir.resolve(run + "-a.log");
        Path logB = dir.resolve(run + "-b.log");
        Process a = WorkerProcess.start(stack, model, "respond", logA, s, "--instance", "a");
        Process b = WorkerProcess.start(stack, model, "respond", logB, s, "--instance", "b");
        try {
            TestUtils.waitForCondition(() -> assignedMembers(clients, run + "-respond") == 2, 120_000,
                    () -> "both generators in the group with partitions; logs:\n" + WorkerProcess.read(logA)
                            + WorkerProcess.read(logB));
            List<String> requests = new ArrayList<>();
            try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-scale", null)) {
                for (int i = 0; i < 96; i++) {
                    String doc = run + "-d" + (i % 12); // 12 documents: keys on every partition
                    String id = run + "/1/" + i;
                    requests.add(id);
                    p.send(new ProducerRecord<>(Topics.GENERATION_REQUESTS.name(), doc, GenerationRequest.newBuilder()
                            .setRequestId(id).setDocId(doc).setChunkIndex(i).setInstruction("What is the key?")
                            .setShortContext("The key is " + i + ".").setLongContext("Filler. ".repeat(40) + "The key is "
                                    + i + ".").setDocSha256("s").setIteration(1).setTargetLength(512).setTheta0(1e4)
                            .setTheta1(2e4).setModelVersion("pi_S").setCreatedAt(Instant.now()).build()));
                }
            }
            TestUtils.waitForCondition(() -> processed(logA, "respond", "a") > 0 && processed(logB, "respond", "b") > 0,
                    120_000, "both generators committed work");
            double aAtKill = processed(logA, "respond", "a");
            a.destroyForcibly(); // SIGKILL, possibly inside a transaction
            a.waitFor();
            double bAtKill = processed(logB, "respond", "b");
            assertTrue(pairs(clients, run).size() < requests.size(), "killed after the work was done: nothing was taken over");

            TestUtils.waitForCondition(() -> pairs(clients, run).size() >= requests.size(), 180_000,
                    () -> "a pair for every request; " + pairs(clients, run).size() + " so far; log b:\n"
                            + WorkerProcess.read(logB));
            Thread.sleep(2000); // anything duplicated would be committed by now
            assertEquals(requests.stream().sorted().toList(), pairs(clients, run).stream().map(PreferencePair::getPairId)
                    .sorted().toList(), "exactly one pair per request");
            double bAtEnd = processed(logB, "respond", "b");
            assertTrue(bAtEnd > bAtKill, "the survivor took over the killed generator's partitions");
            assertTrue(aAtKill + bAtEnd <= requests.size(), "no request counted by both: " + aAtKill + " + " + bAtEnd);
        } finally {
            a.destroyForcibly();
            WorkerProcess.stop(b);
        }
    }

    @Test
    void aStandbyEvaluatorFinishesTheCheckpointsOfAKilledActiveOne() throws Exception {
        KafkaClients clients = stack.clients();
        String run = "standby-" + UUID.randomUUID().toString().substring(0, 8);
        List<String> s = settings(run, "eval.tasks=niah_single,short_mc", "eval.lengths=64,128", "eval.samples=2",
                "eval.short.samples=4", "loop.short.window=128");
        Path log1 = dir.resolve(run + "-1.log");
        Path log2 = dir.resolve(run + "-2.log");
        Process e1 = WorkerProcess.start(stack, model, "eval", log1, s, "--instance", "e1");
        Process e2 = WorkerProcess.start(stack, model, "eval", log2, s, "--instance", "e2");
        List<String> versions = new ArrayList<>();
        try {
            TestUtils.waitForCondition(() -> assignedMembers(clients, run + "-eval") == 1
                    && WorkerProcess.metricsPort(log1).isPresent() && WorkerProcess.metricsPort(log2).isPresent(), 120_000,
                    "one evaluator holds the one partition, both serve metrics");
            try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-standby", null)) {
                for (int i = 1; i <= 12; i++) {
                    String v = run + "-step-" + i;
                    versions.add(v);
                    p.send(new ProducerRecord<>(Topics.CHECKPOINTS.name(), run, Checkpoint.newBuilder().setRunId(run)
                            .setModelVersion(v).setUri(model.toUri().toString()).setSha256(sha).setSizeBytes(1).setStep(i)
                            .setIteration(1).setTheta(1e4).setMaxLength(4096).setCreatedAt(Instant.now()).build()));
                }
            }
            TestUtils.waitForCondition(() -> processed(log1, "eval", "e1") > 0 || processed(log2, "eval", "e2") > 0,
                    120_000, "the active evaluator committed a checkpoint's results");
            boolean firstActive = processed(log1, "eval", "e1") > 0;
            Process active = firstActive ? e1 : e2;
            Path standbyLog = firstActive ? log2 : log1;
            String standby = firstActive ? "e2" : "e1";
            assertEquals(0.0, processed(standbyLog, "eval", standby), "the standby had nothing to do");
            active.destroyForcibly(); // SIGKILL
            active.waitFor();
            assertTrue(evaluated(clients, run).size() < versions.size(), "killed after the work was done");

            TestUtils.waitForCondition(() -> evaluated(clients, run).size() == versions.size(), 180_000,
                    () -> "every checkpoint evaluated; " + evaluated(clients, run).keySet() + "; standby log:\n"
                            + WorkerProcess.read(standbyLog));
            Thread.sleep(2000);
            Map<String, List<String>> cells = evaluated(clients, run);
            List<String> suite = cells.get(versions.get(0));
            assertTrue(suite.size() >= 3, suite.toString());
            for (String v : versions) {
                assertEquals(suite, cells.get(v), "each checkpoint's suite exactly once: " + v);
            }
            assertTrue(processed(standbyLog, "eval", standby) > 0, "the standby took over");
        } finally {
            e1.destroyForcibly();
            e2.destroyForcibly();
        }
    }

    private static List<PreferencePair> pairs(KafkaClients clients, String run) {
        return TopicReader.readAll(clients, Topics.PREFERENCE_PAIRS).stream().map(ConsumerRecord::value)
                .filter(p -> p.getRequestId().startsWith(run + "/")).toList();
    }

    /** Each evaluated version of the run and its result cells (task@length@depth), sorted; duplicates kept. */
    private static Map<String, List<String>> evaluated(KafkaClients clients, String run) {
        Function<EvalResult, String> cell = e -> e.getTask() + "@" + e.getLength() + "@" + e.getDepth();
        return TopicReader.readAll(clients, Topics.EVAL_RESULTS).stream().map(ConsumerRecord::value)
                .filter(e -> e.getModelVersion().startsWith(run + "-step-"))
                .collect(Collectors.groupingBy(EvalResult::getModelVersion, Collectors.collectingAndThen(
                        Collectors.mapping(cell, Collectors.toList()), l -> l.stream().sorted().toList())));
    }
}
