package dev.longpo.streams;

import dev.longpo.avro.DeadLetter;
import dev.longpo.common.DeadLetters;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import dev.longpo.schema.AvroSerde;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.Stores;

/**
 * What every topology shares: reading a topic as raw bytes and decoding it so that an undecodable
 * record (or one that fails validation) goes to {@code dead-letter} with its origin and reason instead
 * of stopping the partition; and the serdes of topics and state stores.
 */
public final class StreamsSupport {
    private final KafkaClients clients;

    public StreamsSupport(KafkaClients clients) {
        this.clients = clients;
    }

    public KafkaClients clients() {
        return clients;
    }

    public <V extends SpecificRecord> AvroSerde<V> serde(Topic<V> topic) {
        return clients.serde(topic);
    }

    /** A serde for values of type {@code type} in state stores. */
    public <V extends SpecificRecord> AvroSerde<V> storeSerde(Class<V> type) {
        return AvroSerde.forValue(clients.registry(), type);
    }

    /** Adds a changelogged persistent key-value store with string keys. */
    public <V> void addStore(StreamsBuilder builder, String name, org.apache.kafka.common.serialization.Serde<V> values) {
        builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), Serdes.String(), values));
    }

    /**
     * Documents and chunks, decoded and validated, merged into one stream keyed by doc_id (the two
     * topics are co-partitioned), for processors that need both.
     */
    public KStream<String, SpecificRecord> documentsAndChunks(StreamsBuilder builder, String stage) {
        KStream<String, SpecificRecord> docs = decoded(builder, Topics.DOCUMENTS, stage, Validation::document)
                .mapValues(d -> (SpecificRecord) d, Named.as(stage + "-documents-as-records"));
        KStream<String, SpecificRecord> chunks = decoded(builder, Topics.CHUNKS, stage, Validation::chunk)
                .mapValues(c -> (SpecificRecord) c, Named.as(stage + "-chunks-as-records"));
        return docs.merge(chunks, Named.as(stage + "-documents-and-chunks"));
    }

    /** Checks a decoded value; returns null when valid, else the reason it is rejected. */
    @FunctionalInterface
    public interface Validator<V> {
        String problem(String key, V value);
    }

    /** Either a value or the dead letter that replaces it. */
    record Decoded<V>(V value, DeadLetter deadLetter) {
    }

    /**
     * The valid records of {@code topic}; the rest go to {@code dead-letter} with stage {@code stage}.
     * Keys must be present (they carry the partitioning).
     */
    public <V extends SpecificRecord> KStream<String, V> decoded(StreamsBuilder builder, Topic<V> topic, String stage,
                                                                 Validator<V> validator) {
        AvroSerde<V> serde = serde(topic);
        String name = stage + "-" + topic.name();
        KStream<String, byte[]> raw = builder.stream(topic.name(), Consumed.with(Serdes.String(), Serdes.ByteArray())
                .withName(name + "-source"));
        KStream<String, Decoded<V>> decoded = raw.processValues(() -> new DecodeProcessor<>(topic.name(), stage, serde,
                validator), Named.as(name + "-decode"));
        Map<String, KStream<String, Decoded<V>>> split = decoded.split(Named.as(name + "-"))
                .branch((k, v) -> v.deadLetter() != null, Branched.as("bad"))
                .defaultBranch(Branched.as("good"));
        split.get(name + "-bad").mapValues(Decoded::deadLetter, Named.as(name + "-dead-letter"))
                .to(Topics.DEAD_LETTER.name(), Produced.with(Serdes.String(), serde(Topics.DEAD_LETTER))
                        .withName(name + "-dead-letter-sink"));
        return split.get(name + "-good").mapValues(Decoded::value, Named.as(name + "-value"));
    }

    /** Decodes one record; keeps the raw bytes and the offset for the dead letter. */
    private static final class DecodeProcessor<V extends SpecificRecord>
            implements FixedKeyProcessor<String, byte[], Decoded<V>> {
        private final String topic;
        private final String stage;
        private final AvroSerde<V> serde;
        private final Validator<V> validator;
        private FixedKeyProcessorContext<String, Decoded<V>> context;

        DecodeProcessor(String topic, String stage, AvroSerde<V> serde, Validator<V> validator) {
            this.topic = topic;
            this.stage = stage;
            this.serde = serde;
            this.validator = validator;
        }

        @Override
        public void init(FixedKeyProcessorContext<String, Decoded<V>> context) {
            this.context = context;
        }

        @Override
        public void process(FixedKeyRecord<String, byte[]> rec) {
            String problem;
            Throwable error = null;
            V value = null;
            try {
                value = serde.deserialize(topic, rec.value());
                problem = rec.key() == null ? "record has no key"
                        : value == null ? "record has no value" : validator.problem(rec.key(), value);
            } catch (RuntimeException e) {
                problem = e.getMessage();
                error = e;
            }
            if (problem == null) {
                context.forward(rec.withValue(new Decoded<>(value, null)));
                return;
            }
            var meta = context.recordMetadata();
            DeadLetter dl = DeadLetters.of(stage, problem, error).fromRecord(topic,
                    meta.map(m -> m.partition()).orElse(-1), meta.map(m -> m.offset()).orElse(-1L),
                    rec.key() == null ? null : rec.key().getBytes(java.nio.charset.StandardCharsets.UTF_8), rec.value())
                    .build();
            context.forward(rec.withValue(new Decoded<>(null, dl)));
        }
    }
}
