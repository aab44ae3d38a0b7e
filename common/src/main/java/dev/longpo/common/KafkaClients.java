package dev.longpo.common;

import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import dev.longpo.schema.AvroSerde;
import dev.longpo.schema.SchemaRegistryClient;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The single place where Kafka clients and serdes are made from a {@link LongpoConfig}: producers are
 * idempotent with {@code acks=all}, consumers read committed data with manual commits, Streams
 * applications run {@code exactly_once_v2}. Every {@code kafka.*} key is applied on top, so pointing
 * at a secured cluster is configuration only.
 */
public final class KafkaClients {
    private final LongpoConfig config;
    private volatile SchemaRegistryClient registry;

    public KafkaClients(LongpoConfig config) {
        this.config = config;
    }

    public LongpoConfig config() {
        return config;
    }

    /** The shared, caching registry client. */
    public SchemaRegistryClient registry() {
        SchemaRegistryClient r = registry;
        if (r == null) {
            synchronized (this) {
                if (registry == null) {
                    registry = new SchemaRegistryClient(config.registrySettings());
                }
                r = registry;
            }
        }
        return r;
    }

    /** The value serde of one topic. */
    public <V extends SpecificRecord> AvroSerde<V> serde(Topic<V> topic) {
        return topic.valueSerde(registry());
    }

    /** Connection settings shared by all clients: bootstrap servers plus every {@code kafka.*} key. */
    public Map<String, Object> common() {
        return new HashMap<>(config.withPrefix("kafka."));
    }

    /**
     * A producer that writes any event to any topic (values are serialized with their own schema).
     *
     * @param transactionalId null for an idempotent, non-transactional producer
     */
    public KafkaProducer<String, SpecificRecord> producer(String clientId, String transactionalId) {
        Map<String, Object> p = common();
        p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.MAX_REQUEST_BYTES);
        if (transactionalId != null) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        p.putAll(config.withPrefix("producer."));
        return new KafkaProducer<>(p, new StringSerializer(), AvroSerde.forAnyValue(registry()));
    }

    /**
     * A consumer of raw bytes, read_committed, manual commits, from the earliest offset. Values are
     * decoded by the caller (see {@link Decoder}) so that an undecodable record goes to the dead-letter
     * topic instead of blocking its partition.
     */
    public KafkaConsumer<byte[], byte[]> rawConsumer(String groupId, String clientId) {
        Map<String, Object> p = common();
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.MAX_REQUEST_BYTES);
        p.putAll(config.withPrefix("consumer."));
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** An admin client. */
    public Admin admin() {
        Map<String, Object> p = common();
        p.put(CommonClientConfigs.CLIENT_ID_CONFIG, "longpo-admin");
        return Admin.create(p);
    }

    /** Kafka Streams settings for one application: exactly-once v2, plus every {@code streams.*} key. */
    public Properties streams(String applicationId) {
        Properties p = new Properties();
        p.putAll(common());
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, config.getInt("topics.replication.factor"));
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), Topics.MAX_REQUEST_BYTES);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG), Topics.MAX_REQUEST_BYTES);
        p.putAll(config.withPrefix("streams."));
        return p;
    }
}
