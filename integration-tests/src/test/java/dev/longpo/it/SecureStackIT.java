package dev.longpo.it;

import static dev.longpo.loop.RecordedRun.eval;
import static dev.longpo.loop.RecordedRun.metrics;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.deploy.Access;
import dev.longpo.deploy.EmbeddedStack;
import dev.longpo.events.Topics;
import dev.longpo.loop.LoopRunner;
import dev.longpo.producers.Ingestor;
import dev.longpo.tasks.CorpusGenerator;
import dev.longpo.tasks.SelfInstruct;
import dev.longpo.workers.InstructionGenerator;
import dev.longpo.workers.ModelSlot;
import dev.longpo.workers.Trainer;
import dev.longpo.schema.RegistrySettings;
import dev.longpo.schema.SchemaRegistryClient;
import dev.longpo.schema.SchemaRegistryException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code longpo up --secure} and {@code longpo setup --secure}: brokers that authenticate with SCRAM-SHA-512
 * and authorize with ACLs, a user per role whose ACLs are its reads and writes, and a registry behind basic
 * auth. Each role can do its work, and nothing else: a write to another role's topic, a consumer group of
 * another role and a wrong password are refused by the broker, a request without credentials by the registry.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class SecureStackIT {
    private static final String RUN = "secure-loop";
    @TempDir
    Path dir;
    private EmbeddedStack stack;

    /** A secure embedded stack of this test's own (each test reads its topics from the beginning). */
    @BeforeEach
    void up() throws Exception {
        stack = RealStack.childStack(dir.resolve("stack"), Map.of("stack.kafka.secure", "true", "run.id", RUN,
                "pipeline.app.prefix", RUN));
        stack.up();
    }

    @AfterEach
    void down() {
        stack.down();
    }

    @Test
    void eachRoleCanDoItsWorkAndNothingElse() throws Exception {
        KafkaClients admin = new KafkaClients(stack.clientConfig());
        Path creds = dir.resolve("credentials");
        List<Access.Result> results = Access.apply(admin, creds);
        assertEquals(8, results.size());
        String evalSettings = Files.readString(creds.resolve("eval.properties"));
        assertEquals(results, Access.apply(admin, creds), "a second setup changes nothing");
        assertEquals(evalSettings, Files.readString(creds.resolve("eval.properties")), "and keeps the passwords");
        try (Admin a = admin.admin()) {
            var acls = a.describeAcls(new AclBindingFilter(ResourcePatternFilter.ANY, new AccessControlEntryFilter(
                    "User:longpo-eval", null, AclOperation.ANY, AclPermissionType.ANY))).values().get(30, TimeUnit.SECONDS);
            assertEquals(results.stream().filter(r -> r.role().equals("eval")).findFirst().orElseThrow().acls(), acls.size());
        }

        KafkaClients ingest = role(stack, creds, "ingest");
        Path doc = dir.resolve("doc.txt");
        Files.writeString(doc, "A harbor ledger. The key is 41.\n\nAnother paragraph of the ledger.\n");
        try (Ingestor ingestor = new Ingestor(ingest)) {
            assertEquals(1, ingestor.ingest(List.of(doc)).documents(), "ingest writes documents and chunks");
        }

        // the model roles' own grants suffice for their work: the instruction generator (its group,
        // transactional id, follower of iterations, outputs or dead letters) and the trainer (its samples,
        // checkpoints, metrics and the offsets it commits)
        KafkaClients instruct = role(stack, creds, "instruct");
        try (KafkaProducer<String, SpecificRecord> p = admin.producer("it-secure-requests", null)) {
            for (int i = 0; i < 2; i++) {
                p.send(new ProducerRecord<>(Topics.INSTRUCTION_REQUESTS.name(), "sec", InstructionRequest.newBuilder()
                        .setRequestId("sec/1/" + i).setDocId("sec").setChunkIndex(i)
                        .setChunkText("The harbor ledger says the key of berth " + i + " is " + (40 + i) + ".")
                        .setIteration(1).setSeed(i).setCreatedAt(Instant.now()).build()));
                p.send(new ProducerRecord<>(Topics.TRAINING_SAMPLES.name(), "sec-s" + i, TestSamples.oneTurn("sec-s" + i, 1, i,
                        "Filler. ".repeat(20) + "The key is " + i + ".", 1e6)));
            }
        }
        Path piS = Path.of("..", "models", "pi-s");
        AtomicBoolean stop = new AtomicBoolean();
        try (ModelSlot slot = new ModelSlot(instruct, "longpo", piS, "pi_S", Device.cpu());
             InstructionGenerator gen = new InstructionGenerator(instruct, slot, "0", 2, 2, 24, SelfInstruct.MINI)) {
            Thread t = Background.start(stop, gen::run);
            TestUtils.waitForCondition(() -> gen.processed() >= 2 || !t.isAlive(), 120_000,
                    "both instruction requests committed");
            stop.set(true);
            t.join(30_000);
            assertEquals(2, gen.processed(), "committed, with their instructions or dead letters, under the instruct"
                    + " role's ACLs");
        }
        LongpoConfig trainConfig = role(stack, creds, "train").config().with(Map.of("trainer.checkpoint.dir",
                dir.resolve("ckpt").toString(), "trainer.idle.checkpoint.ms", "2000"));
        try (Trainer trainer = new Trainer(new KafkaClients(trainConfig), Trainer.Settings.from(trainConfig), piS,
                Device.cpu())) {
            trainer.run(new AtomicBoolean(), true);
            assertEquals(List.of("sec-s0", "sec-s1"), trainer.ledger());
        }
        assertEquals(List.of("pi_S", RUN + "-step-2"), TopicReader.readAll(admin, Topics.CHECKPOINTS).stream()
                .map(r -> r.value().getModelVersion()).toList(), "the trainer announced the base and its checkpoint");

        KafkaClients evaluator = role(stack, creds, "eval");
        try (KafkaProducer<String, SpecificRecord> p = evaluator.producer("it-secure-eval", null)) {
            p.send(new ProducerRecord<>(Topics.EVAL_RESULTS.name(), "v", eval("v", "niah_single", 128, null, 1.0)))
                    .get(30, TimeUnit.SECONDS);
            ExecutionException refused = assertThrows(ExecutionException.class, () -> p.send(new ProducerRecord<>(
                    Topics.TRAINING_METRICS.name(), "r", metrics("r", 1, 1, 1.0, 0.0))).get(30, TimeUnit.SECONDS));
            assertInstanceOf(TopicAuthorizationException.class, refused.getCause(), "the trainer's topic");
        }
        try (KafkaConsumer<byte[], byte[]> c = role(stack, creds, "instruct").rawConsumer("longpo-respond", "it-secure")) {
            c.subscribe(List.of(Topics.GENERATION_REQUESTS.name()));
            assertThrows(AuthorizationException.class, () -> c.poll(Duration.ofSeconds(20)),
                    "the instruction generator may not join the response generators' group or read their input");
        }

        LongpoConfig wrong = stack.clientConfig().with("kafka.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"longpo-eval\" password=\"wrong\";");
        try (Admin a = new KafkaClients(wrong).admin()) {
            ExecutionException denied = assertThrows(ExecutionException.class,
                    () -> a.listTopics().names().get(30, TimeUnit.SECONDS));
            assertInstanceOf(SaslAuthenticationException.class, denied.getCause());
        }
        Map<String, String> plaintext = new HashMap<>(Map.of("kafka.security.protocol", "PLAINTEXT",
                "kafka.sasl.jaas.config", "", "kafka.default.api.timeout.ms", "8000", "kafka.request.timeout.ms", "4000"));
        try (Admin a = new KafkaClients(stack.clientConfig().with(plaintext)).admin()) {
            assertThrows(ExecutionException.class, () -> a.listTopics().names().get(30, TimeUnit.SECONDS),
                    "a client without authentication gets nothing");
        }
        String adminFile = Files.readString(stack.adminSettings());
        assertTrue(adminFile.contains("username=\"admin\"") && adminFile.contains("registry.basic.auth.user.info=admin:"),
                "the admin's settings file serves longpo setup --secure --config as it is");

        // the registry takes basic auth only: the roles' settings carry it, a client without it is refused
        assertTrue(Files.readString(creds.resolve("ingest.properties")).contains("registry.basic.auth.user.info="));
        var registry = stack.clientConfig().registrySettings();
        SchemaRegistryClient anonymous = new SchemaRegistryClient(new RegistrySettings(registry.url(), null, null, null,
                registry.timeout(), false));
        SchemaRegistryException refused = assertThrows(SchemaRegistryException.class, anonymous::subjects);
        assertTrue(refused.getMessage().contains("401"), refused.getMessage());
        assertTrue(new KafkaClients(stack.clientConfig()).registry().subjects().contains(Topics.DOCUMENTS.valueSubject()));
    }

    /**
     * The whole loop, each role under its own principal (loop.role.settings: what {@code longpo demo --secure}
     * runs): ingestion, the four stream processors, both generators, the trainer, the evaluator and the
     * controller reach the controller's decision on iteration 1 with nothing refused on the way.
     */
    @Test
    void theWholeLoopRunsUnderEachRolesOwnPrincipal() throws Exception {
        Path creds = dir.resolve("credentials");
        Access.apply(new KafkaClients(stack.clientConfig()), creds);
        Map<String, String> tiny = new HashMap<>();
        tiny.put("loop.role.settings", creds.toString());
        tiny.put("pipeline.punctuate.ms", "200");
        tiny.put("streams.commit.interval.ms", "100");
        tiny.put("streams.state.dir", dir.resolve("streams").toString());
        tiny.put("ingest.max.chunk.tokens", "128");
        tiny.put("loop.short.window", "128");
        tiny.put("loop.max.iterations", "1");
        tiny.put("loop.sample.budget", "2");
        tiny.put("loop.short.margin", "1.0");
        tiny.put("trainer.checkpoint.dir", dir.resolve("checkpoints").toString());
        tiny.put("trainer.checkpoint.every", "2");
        tiny.put("grouping.timeout.ms", "3000");
        tiny.put("eval.tasks", "niah_single,short_mc");
        tiny.put("eval.lengths", "128,512");
        tiny.put("eval.samples", "1");
        tiny.put("eval.short.samples", "2");
        tiny.put("worker.status.ms", "600000");
        LongpoConfig config = stack.clientConfig().with(tiny);
        Path corpus = dir.resolve("corpus.jsonl");
        CorpusGenerator.write(corpus, "sec-i1", 4, 300, 480, 120, 1);
        try (Ingestor ingestor = new Ingestor(new KafkaClients(LoopRunner.forRole(config, "ingest")))) {
            assertFalse(ingestor.ingest(List.of(corpus)).anyRejected());
        }
        KafkaClients admin = new KafkaClients(stack.clientConfig());
        try (LoopRunner runner = new LoopRunner(config, Path.of("..", "models", "pi-s"))) {
            runner.start();
            TestUtils.waitForCondition(() -> decisions(admin).contains(IterationEventType.STOP) || runner.failure().isPresent(),
                    TimeUnit.MINUTES.toMillis(6), "the controller's STOP");
            assertEquals(java.util.Optional.empty(), runner.failure());
        }
        List<IterationEventType> d = decisions(admin);
        assertEquals(IterationEventType.START, d.get(0));
        assertTrue(d.contains(IterationEventType.PROMOTE) || d.contains(IterationEventType.REJECT), d.toString());
        List<String> evaluated = TopicReader.readAll(admin, Topics.EVAL_RESULTS).stream().map(r -> r.value().getModelVersion())
                .distinct().toList();
        assertTrue(evaluated.contains("pi_S") && evaluated.size() >= 2, "pi_S and a checkpoint evaluated: " + evaluated);
        List<String> refused = TopicReader.readAll(admin, Topics.DEAD_LETTER).stream().map(r -> r.value().getReason())
                .filter(r -> r.contains("uthoriz")).toList();
        assertEquals(List.of(), refused, "nothing refused by the ACLs");
        assertTrue(TopicReader.readAll(admin, Topics.CHECKPOINTS).stream().allMatch(r -> r.value().getRunId().equals(RUN)));
    }

    private static List<IterationEventType> decisions(KafkaClients clients) {
        return TopicReader.readAll(clients, Topics.ITERATIONS).stream().map(r -> r.value())
                .filter(e -> e.getRunId().equals(RUN)).map(IterationEvent::getType).toList();
    }

    /** The clients of one role: the stack's address with the role's settings file over the admin's identity. */
    private static KafkaClients role(EmbeddedStack stack, Path creds, String role) {
        return new KafkaClients(stack.clientConfig().withFile(creds.resolve(role + ".properties")));
    }
}
