package dev.longpo.schema;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.ClassSecurityValidator;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde for generated Avro records in the Confluent wire format: magic byte {@code 0}, the
 * 4-byte big-endian schema id, then Avro binary. The writer schema is registered under the subject
 * {@code <topic>-value} (or {@code <topic>-key}); readers resolve the writer schema by id and project
 * it onto the compiled schema, so producers and consumers can evolve independently (BACKWARD rules).
 *
 * @param <T> the generated record class
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T>, Serializer<T>, Deserializer<T> {
    /** First byte of every Confluent-framed payload. */
    public static final byte MAGIC_BYTE = 0;
    /** Package of the generated event classes, trusted for deserialization. */
    public static final String TRUSTED_PACKAGE = "dev.longpo.avro.";

    private static final AtomicBoolean TRUSTED = new AtomicBoolean();

    static {
        trustEventClasses();
    }

    /**
     * Lets Avro (1.12.2+ checks every class it resolves by name) load the generated event classes; every
     * reader of specific records outside this serde, such as an Avro container file, calls it first.
     */
    public static void trustEventClasses() {
        if (TRUSTED.compareAndSet(false, true)) {
            ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(ClassSecurityValidator.getGlobal(),
                    c -> c.getName().startsWith(TRUSTED_PACKAGE)));
        }
    }

    private final SchemaRegistryClient registry;
    private final Class<T> type;
    private final Schema readerSchema;
    private final boolean isKey;
    private final Map<Integer, SpecificDatumReader<T>> readers = new ConcurrentHashMap<>();
    private final Map<Schema, SpecificDatumWriter<T>> writers = new ConcurrentHashMap<>();

    /**
     * @param type the generated class; {@code SpecificRecord.class} makes a serde for any generated
     *     record, which writes each record with its own schema and reads with the writer's schema
     */
    public AvroSerde(SchemaRegistryClient registry, Class<T> type, boolean isKey) {
        this.registry = registry;
        this.type = type;
        this.readerSchema = type == SpecificRecord.class ? null : SpecificData.get().getSchema(type);
        this.isKey = isKey;
    }

    /** A value serde for {@code type}. */
    public static <T extends SpecificRecord> AvroSerde<T> forValue(SchemaRegistryClient registry, Class<T> type) {
        return new AvroSerde<>(registry, type, false);
    }

    /** A value serde for every generated record, e.g. for one producer that writes to several topics. */
    public static AvroSerde<SpecificRecord> forAnyValue(SchemaRegistryClient registry) {
        return new AvroSerde<>(registry, SpecificRecord.class, false);
    }

    /** Subject name for a topic under the TopicNameStrategy. */
    public static String subject(String topic, boolean isKey) {
        return topic + (isKey ? "-key" : "-value");
    }

    @Override
    public byte[] serialize(String topic, T data) {
        if (data == null) {
            return null;
        }
        String subject = subject(topic, isKey);
        Schema schema = data.getSchema();
        int id = registry.settings().autoRegister() ? registry.register(subject, schema)
                : registry.lookup(subject, schema);
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.write(MAGIC_BYTE);
        out.write(ByteBuffer.allocate(4).putInt(id).array(), 0, 4);
        try {
            BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(out, null);
            writers.computeIfAbsent(schema, SpecificDatumWriter::new).write(data, enc);
            enc.flush();
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("cannot encode " + type.getSimpleName() + " for " + topic + ": " + e, e);
        }
        return out.toByteArray();
    }

    @Override
    public T deserialize(String topic, byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        if (bytes.length < 5 || bytes[0] != MAGIC_BYTE) {
            throw new SerializationException("not Confluent-framed Avro on " + topic + " (length " + bytes.length
                    + (bytes.length > 0 ? ", first byte " + bytes[0] : "") + ")");
        }
        int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
        SpecificDatumReader<T> reader;
        try {
            reader = readers.computeIfAbsent(id, i -> {
                Schema writerSchema = registry.schemaById(i);
                return new SpecificDatumReader<>(writerSchema, readerSchema == null ? writerSchema : readerSchema);
            });
        } catch (SchemaRegistryException e) {
            throw new SerializationException("cannot resolve writer schema id " + id + " for " + topic + ": "
                    + e.getMessage(), e);
        }
        try {
            BinaryDecoder dec = DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null);
            T value = reader.read(null, dec);
            if (!dec.isEnd()) {
                throw new SerializationException("trailing bytes after " + type.getSimpleName() + " on " + topic);
            }
            return value;
        } catch (IOException | RuntimeException e) {
            if (e instanceof SerializationException se) {
                throw se;
            }
            throw new SerializationException("cannot decode " + type.getSimpleName() + " (schema id " + id + ") on "
                    + topic + ": " + e, e);
        }
    }

    @Override
    public Serializer<T> serializer() {
        return this;
    }

    @Override
    public Deserializer<T> deserializer() {
        return this;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean key) {
        // configured through the constructor; Kafka calls this when the serde is given by class name
    }

    @Override
    public void close() {
        // the registry client is shared and owns no resources to release
    }
}
