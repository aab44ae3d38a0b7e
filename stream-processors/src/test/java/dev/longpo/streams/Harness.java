package dev.longpo.streams;

import dev.longpo.avro.Chunk;
import dev.longpo.avro.DeadLetter;
import dev.longpo.avro.Document;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import java.nio.file.Files;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;

/** A TopologyTestDriver over an in-process registry ({@code mock://}) with typed inputs and outputs. */
final class Harness implements AutoCloseable {
    final StreamsSupport support;
    TopologyTestDriver driver;

    Harness() {
        String scope = "test-" + UUID.randomUUID();
        support = new StreamsSupport(new KafkaClients(LongpoConfig.load(null, Map.of("registry.url", "mock://" + scope))));
    }

    Harness start(Topology topology) throws Exception {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("tt-").toString());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        driver = new TopologyTestDriver(topology, p, Instant.ofEpochMilli(1_000_000));
        return this;
    }

    <V extends SpecificRecord> void send(Topic<V> topic, String key, V value) {
        raw(topic.name()).pipeInput(key, support.serde(topic).serialize(topic.name(), value));
    }

    TestInputTopic<String, byte[]> raw(String topic) {
        return driver.createInputTopic(topic, new StringSerializer(), new ByteArraySerializer());
    }

    <V extends SpecificRecord> TestOutputTopic<String, V> out(Topic<V> topic) {
        return driver.createOutputTopic(topic.name(), new StringDeserializer(), support.serde(topic));
    }

    List<DeadLetter> deadLetters() {
        return out(Topics.DEAD_LETTER).readValuesToList();
    }

    void advance(long ms) {
        driver.advanceWallClockTime(java.time.Duration.ofMillis(ms));
    }

    static IterationEvent start(String run, int k, int shortWindow, int min, int target, int turns) {
        return IterationEvent.newBuilder().setRunId(run).setIteration(k).setType(IterationEventType.START)
                .setModelVersion("m" + (k - 1)).setShortWindow(shortWindow).setMinLength(min).setTargetLength(target)
                .setTheta0(1e4).setTheta1(1e4 * (1 << k)).setMaxTurns(turns).setSampleBudget(100)
                .setCreatedAt(Instant.EPOCH).build();
    }

    /** A document of {@code n} chunks of {@code chunkBytes} ASCII bytes each, separated by blank lines. */
    static Document document(String id, int n, int chunkBytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : "\n\n").append(String.valueOf((char) ('a' + i)).repeat(chunkBytes));
        }
        String text = sb.toString();
        return Document.newBuilder().setDocId(id).setSource("test").setText(text).setSha256("sha-" + id)
                .setNumBytes(text.length()).setNumTokens(text.length()).setTokenizer("byte").setNumChunks(n)
                .setIngestedAt(Instant.EPOCH).build();
    }

    static Chunk chunk(Document d, int i, int chunkBytes) {
        long start = (long) i * (chunkBytes + 2);
        return Chunk.newBuilder().setDocId(d.getDocId()).setChunkIndex(i).setNumChunks(d.getNumChunks())
                .setStartByte(start).setEndByte(start + chunkBytes).setNumTokens(chunkBytes)
                .setText(d.getText().substring((int) start, (int) start + chunkBytes)).setDocSha256(d.getSha256()).build();
    }

    @Override
    public void close() {
        if (driver != null) {
            driver.close();
        }
    }
}
