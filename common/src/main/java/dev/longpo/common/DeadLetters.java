package dev.longpo.common;

import dev.longpo.avro.DeadLetter;
import dev.longpo.events.Topics;
import java.nio.ByteBuffer;
import java.time.Instant;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Builds {@link DeadLetter} events: the stage, a one-line reason, the origin and the raw bytes. */
public final class DeadLetters {
    /** Raw payloads above this size are cut (the reason says so); the origin still locates the original. */
    public static final int MAX_RAW_BYTES = 1024 * 1024;

    private final DeadLetter.Builder b;

    private DeadLetters(DeadLetter.Builder b) {
        this.b = b;
    }

    /** Starts a dead letter from {@code stage} with {@code reason}; {@code error} may be null. */
    public static DeadLetters of(String stage, String reason, Throwable error) {
        return new DeadLetters(DeadLetter.newBuilder().setStage(stage)
                .setReason(reason == null ? String.valueOf(error) : reason)
                .setErrorClass(error == null ? null : error.getClass().getName())
                .setCreatedAt(Instant.now()));
    }

    /** Origin outside Kafka (a file, a JSONL line) and its raw bytes. */
    public DeadLetters fromSource(String source, byte[] raw) {
        b.setSource(source);
        b.setValue(cut(raw));
        return this;
    }

    /** Origin in Kafka and the record's raw key and value. */
    public DeadLetters fromRecord(String topic, int partition, long offset, byte[] key, byte[] value) {
        b.setSourceTopic(topic).setSourcePartition(partition).setSourceOffset(offset);
        b.setKey(key == null ? null : ByteBuffer.wrap(key));
        b.setValue(cut(value));
        return this;
    }

    private ByteBuffer cut(byte[] raw) {
        if (raw == null) {
            return null;
        }
        if (raw.length > MAX_RAW_BYTES) {
            b.setReason(b.getReason() + " [raw payload cut to " + MAX_RAW_BYTES + " of " + raw.length + " bytes]");
            return ByteBuffer.wrap(raw, 0, MAX_RAW_BYTES).slice();
        }
        return ByteBuffer.wrap(raw);
    }

    public DeadLetter build() {
        return b.build();
    }

    /** The dead-letter record, keyed by its origin (file, or topic/partition/offset). */
    public static ProducerRecord<String, SpecificRecord> record(DeadLetter dl) {
        String key = dl.getSource() != null ? dl.getSource()
                : dl.getSourceTopic() + "/" + dl.getSourcePartition() + "/" + dl.getSourceOffset();
        return new ProducerRecord<>(Topics.DEAD_LETTER.name(), key, dl);
    }

    /** Sends a dead letter keyed by its origin. */
    public static void send(Producer<String, SpecificRecord> producer, DeadLetter dl) {
        producer.send(record(dl));
    }
}
