package dev.longpo.it;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.TopicScanner;
import dev.longpo.events.Topic;
import dev.longpo.schema.AvroSerde;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Decodes a whole topic (committed records, beginning to current end) for assertions. */
final class TopicReader {
    private TopicReader() {
    }

    static <V extends SpecificRecord> List<ConsumerRecord<String, V>> readAll(KafkaClients clients, Topic<V> topic) {
        AvroSerde<V> serde = clients.serde(topic);
        List<ConsumerRecord<String, V>> out = new ArrayList<>();
        TopicScanner.scan(clients, topic.name(), Duration.ofSeconds(30), r -> out.add(new ConsumerRecord<>(r.topic(),
                r.partition(), r.offset(), r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8),
                serde.deserialize(r.topic(), r.value()))));
        return out;
    }
}
