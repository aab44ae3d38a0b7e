package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.Chunk;
import dev.longpo.avro.Document;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.deploy.EmbeddedStack;
import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import dev.longpo.producers.Ingestor;
import dev.longpo.tasks.CorpusGenerator;
import dev.longpo.workers.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code longpo up --brokers 3}: three KRaft brokers as child JVMs, every topic with replication factor 3
 * and {@code min.insync.replicas=2}. The leader of a partition being written is SIGKILLed during ingestion,
 * then restarted; another leader is SIGKILLed during a training run. Nothing stops and, compared as
 * multisets, every document, chunk and applied training sample is there exactly once.
 */
@Timeout(value = 12, unit = TimeUnit.MINUTES)
class ReplicatedClusterIT {
    @TempDir
    Path dir;

    @Test
    void killingABrokerDuringIngestionAndDuringTrainingLosesAndDuplicatesNothing() throws Exception {
        EmbeddedStack stack = RealStack.childStack(dir.resolve("stack"), Map.of("stack.kafka.brokers", "3"));
        try {
            stack.up();
            assertEquals(3, stack.status().brokersAlive().size());
            LongpoConfig c = stack.clientConfig().with(Map.of("ingest.transaction.docs", "6", "run.id", "replicated",
                    "trainer.checkpoint.dir", dir.resolve("ckpt").toString(), "trainer.checkpoint.every", "3",
                    "trainer.idle.checkpoint.ms", "4000", "model.threads", "1"));
            KafkaClients clients = new KafkaClients(c);
            try (Admin admin = clients.admin()) {
                for (TopicDescription d : describe(admin, Topics.all().stream().map(Topic::name).toList()).values()) {
                    assertTrue(d.partitions().stream().allMatch(p -> p.replicas().size() == 3), d.toString());
                }
                String minIsr = admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC,
                        Topics.CHUNKS.name()))).all().get(30, TimeUnit.SECONDS).values().iterator().next()
                        .get("min.insync.replicas").value();
                assertEquals("2", minIsr);
            }

            // ingestion, with the leader of chunks-0 killed once the first transactions are in
            Path corpus = dir.resolve("corpus.jsonl");
            CorpusGenerator.write(corpus, "rep", 60, 300, 600, 120, 3);
            CompletableFuture<Ingestor.Report> ingest = CompletableFuture.supplyAsync(() -> {
                try (Ingestor ingestor = new Ingestor(clients)) {
                    return ingestor.ingest(List.of(corpus));
                }
            });
            TestUtils.waitForCondition(() -> TopicReader.readAll(clients, Topics.DOCUMENTS).size() >= 6 || ingest.isDone(),
                    120_000, "the first committed documents");
            int killed = leader(clients, Topics.CHUNKS.name());
            assertTrue(stack.killBroker(killed), "broker " + killed + " was running");
            Ingestor.Report report = ingest.get(5, TimeUnit.MINUTES);
            assertEquals(60, report.documents(), report.toString());
            assertTrue(report.complete() && !report.anyRejected(), report.toString());
            stack.startBroker(killed);
            TestUtils.waitForCondition(() -> fullyReplicated(clients), 180_000, "broker " + killed + " back in every ISR");
            // a committed transaction becomes visible to read_committed readers once its markers are written, which
            // after a leader's death can take a moment: wait for every record, then check none came twice
            TestUtils.waitForCondition(() -> distinct(TopicReader.readAll(clients, Topics.CHUNKS),
                    ch -> ch.getDocId() + "#" + ch.getChunkIndex()) >= report.chunks()
                    && distinct(TopicReader.readAll(clients, Topics.DOCUMENTS), Document::getDocId) >= 60, 120_000,
                    "every committed document and chunk visible");
            assertExactlyOnce(TopicReader.readAll(clients, Topics.DOCUMENTS), Document::getDocId, 60);
            assertExactlyOnce(TopicReader.readAll(clients, Topics.CHUNKS), ch -> ch.getDocId() + "#" + ch.getChunkIndex(),
                    report.chunks());

            // a training run, with the leader of training-samples killed after its first checkpoint
            Path model = dir.resolve("tiny");
            TinyModel.save(model, 5);
            List<String> produced = new ArrayList<>();
            try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-replicated", null)) {
                for (int i = 0; i < 18; i++) {
                    String id = "replicated-s" + i;
                    produced.add(id);
                    p.send(new ProducerRecord<>(Topics.TRAINING_SAMPLES.name(), id, TestSamples.oneTurn(id, 1, i,
                            "Filler. ".repeat(30) + "The key is " + i + ". " + "More. ".repeat(20), 2e4)));
                }
            }
            AtomicBoolean stop = new AtomicBoolean();
            List<String> ledger;
            try (Trainer trainer = new Trainer(clients, Trainer.Settings.from(c), model, Device.cpu())) {
                CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
                    try {
                        trainer.run(stop, true);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                TestUtils.waitForCondition(() -> Trainer.newest(dir.resolve("ckpt"), "replicated").isPresent()
                        || run.isDone(), 180_000, "the first checkpoint");
                int second = leader(clients, Topics.TRAINING_SAMPLES.name());
                assertTrue(stack.killBroker(second), "broker " + second + " was running");
                run.get(5, TimeUnit.MINUTES);
                ledger = trainer.ledger();
            }
            assertEquals(produced, ledger.stream().filter(produced::contains).toList(),
                    "every sample applied exactly once, in order");
            List<Checkpoint> announced = TopicReader.readAll(clients, Topics.CHECKPOINTS).stream().map(ConsumerRecord::value)
                    .filter(ck -> ck.getRunId().equals("replicated")).toList();
            assertEquals(18L, announced.get(announced.size() - 1).getStep(), announced.toString());
        } finally {
            stack.down();
        }
    }

    private static Map<String, TopicDescription> describe(Admin admin, List<String> topics) throws Exception {
        return admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS);
    }

    /** The node id of the leader of partition 0 of {@code topic}. */
    private static int leader(KafkaClients clients, String topic) throws Exception {
        try (Admin admin = clients.admin()) {
            return describe(admin, List.of(topic)).get(topic).partitions().get(0).leader().id();
        }
    }

    private static boolean fullyReplicated(KafkaClients clients) throws Exception {
        try (Admin admin = clients.admin()) {
            return describe(admin, Topics.all().stream().map(Topic::name).toList()).values().stream()
                    .flatMap(d -> d.partitions().stream()).map(TopicPartitionInfo::isr).allMatch(isr -> isr.size() == 3);
        }
    }

    private static <V> long distinct(List<ConsumerRecord<String, V>> records, Function<V, String> id) {
        return records.stream().map(ConsumerRecord::value).map(id).distinct().count();
    }

    private static <V> void assertExactlyOnce(List<ConsumerRecord<String, V>> records, Function<V, String> id, long expected) {
        Map<String, Long> counts = records.stream().map(ConsumerRecord::value)
                .collect(Collectors.groupingBy(id, Collectors.counting()));
        assertEquals(expected, counts.size(), "distinct records");
        assertTrue(counts.values().stream().allMatch(n -> n == 1), () -> "duplicates: " + counts.entrySet().stream()
                .filter(e -> e.getValue() > 1).toList());
    }
}
