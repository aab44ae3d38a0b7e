package dev.longpo.events;

import dev.longpo.schema.AvroSerde;
import dev.longpo.schema.SchemaRegistryClient;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * One topic of the pipeline: its name, the key type (always a UTF-8 string id), the Avro value type,
 * and the settings it is created with. Instances live in {@link Topics}.
 *
 * @param name topic name
 * @param valueType generated Avro class of the values
 * @param partitions default partition count (the embedded stack's; production overrides by config)
 * @param configs topic-level configs applied at creation (cleanup policy, record size, retention)
 * @param keyDescription what the key is, for docs and the CLI
 * @param <V> value type
 */
public record Topic<V extends SpecificRecord>(String name, Class<V> valueType, int partitions,
                                              Map<String, String> configs, String keyDescription) {

    /** Keys are ids (doc_id, run_id, model_version) as UTF-8 strings. */
    public Serde<String> keySerde() {
        return Serdes.String();
    }

    /** The Confluent-wire-format Avro serde of the values, backed by {@code registry}. */
    public AvroSerde<V> valueSerde(SchemaRegistryClient registry) {
        return AvroSerde.forValue(registry, valueType);
    }

    /** Registry subject of the values. */
    public String valueSubject() {
        return AvroSerde.subject(name, false);
    }
}
