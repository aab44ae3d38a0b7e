package dev.longpo.common;

import dev.longpo.avro.DeadLetter;
import dev.longpo.events.Topic;
import dev.longpo.schema.AvroSerde;
import java.nio.charset.StandardCharsets;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Decodes raw consumer records of one topic; a record that does not decode becomes a
 * {@link DeadLetter} with the raw bytes and the reason, so the consumer moves on.
 *
 * @param <V> value type of the topic
 */
public final class Decoder<V extends SpecificRecord> {
    private final Topic<V> topic;
    private final AvroSerde<V> serde;
    private final String stage;

    public Decoder(KafkaClients clients, Topic<V> topic, String stage) {
        this.topic = topic;
        this.serde = clients.serde(topic);
        this.stage = stage;
    }

    /** The outcome for one record: a value or a dead letter, never both. */
    public record Result<V>(String key, V value, DeadLetter deadLetter) {
        public boolean ok() {
            return deadLetter == null;
        }
    }

    public Result<V> decode(ConsumerRecord<byte[], byte[]> rec) {
        String key = rec.key() == null ? null : new String(rec.key(), StandardCharsets.UTF_8);
        try {
            V value = serde.deserialize(topic.name(), rec.value());
            if (value == null) {
                throw new IllegalArgumentException("null value (tombstone) where an event was expected");
            }
            return new Result<>(key, value, null);
        } catch (RuntimeException e) {
            return new Result<>(key, null, DeadLetters.of(stage, e.getMessage(), e)
                    .fromRecord(rec.topic(), rec.partition(), rec.offset(), rec.key(), rec.value()).build());
        }
    }
}
