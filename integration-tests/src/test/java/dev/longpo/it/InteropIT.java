package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longpo.avro.Chunk;
import dev.longpo.common.Decoder;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topic;
import io.apicurio.registry.serde.SerdeConfig;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerdeConfig;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Records cross between Apicurio's own serde (Confluent-compatible mode) and ours through a real topic. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class InteropIT {
    private static Chunk chunk(String id) {
        return Chunk.newBuilder().setDocId(id).setChunkIndex(0).setNumChunks(1).setStartByte(0).setEndByte(5)
                .setNumTokens(5).setText("héllo").setDocSha256("00").build();
    }

    private static Map<String, Object> apicurio(RealStack stack) {
        Map<String, Object> p = new HashMap<>();
        p.put(SerdeConfig.REGISTRY_URL, stack.registryV2Url());
        p.put(SerdeConfig.ENABLE_CONFLUENT_ID_HANDLER, true);
        p.put(SerdeConfig.USE_ID, "contentId");
        p.put(SerdeConfig.ENABLE_HEADERS, false);
        p.put(SerdeConfig.AUTO_REGISTER_ARTIFACT, true);
        p.put(AvroKafkaSerdeConfig.USE_SPECIFIC_AVRO_READER, true);
        return p;
    }

    @Test
    void apicurioWritesOursReadsAndBack() throws Exception {
        RealStack stack = RealStack.get();
        KafkaClients clients = stack.clients();
        String topicName = "interop-" + UUID.randomUUID();
        try (var admin = clients.admin()) {
            admin.createTopics(List.of(new NewTopic(topicName, 1, (short) 1))).all().get();
        }
        Topic<Chunk> topic = new Topic<>(topicName, Chunk.class, 1, Map.of(), "doc_id");

        Map<String, Object> prodProps = new HashMap<>(clients.common());
        prodProps.putAll(apicurio(stack));
        AvroKafkaSerializer<Chunk> theirSerializer = new AvroKafkaSerializer<>();
        theirSerializer.configure(apicurio(stack), false);
        try (KafkaProducer<String, Chunk> theirs = new KafkaProducer<>(prodProps, new StringSerializer(),
                theirSerializer)) {
            theirs.send(new ProducerRecord<>(topicName, "from-apicurio", chunk("from-apicurio"))).get();
        }
        try (var ours = clients.producer("interop", null)) {
            ours.send(new ProducerRecord<>(topicName, "from-longpo", chunk("from-longpo"))).get();
        }

        Decoder<Chunk> decoder = new Decoder<>(clients, topic, "interop");
        List<Chunk> readByUs = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = clients.rawConsumer("interop-" + UUID.randomUUID(), "interop")) {
            c.subscribe(List.of(topicName));
            TestUtils.waitForCondition(() -> {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    Decoder.Result<Chunk> res = decoder.decode(r);
                    assertEquals(null, res.deadLetter(), () -> res.deadLetter().getReason());
                    readByUs.add(res.value());
                }
                return readByUs.size() >= 2;
            }, 30_000, "both records read by our decoder");
        }
        assertEquals(List.of(chunk("from-apicurio"), chunk("from-longpo")), readByUs);

        Map<String, Object> consProps = new HashMap<>(clients.common());
        consProps.putAll(apicurio(stack));
        consProps.put(ConsumerConfig.GROUP_ID_CONFIG, "interop-theirs-" + UUID.randomUUID());
        consProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<Object> readByThem = new ArrayList<>();
        AvroKafkaDeserializer<Object> theirDeserializer = new AvroKafkaDeserializer<>();
        theirDeserializer.configure(apicurio(stack), false);
        try (KafkaConsumer<String, Object> c = new KafkaConsumer<>(consProps, new StringDeserializer(),
                theirDeserializer)) {
            c.subscribe(List.of(topicName));
            TestUtils.waitForCondition(() -> {
                c.poll(Duration.ofMillis(200)).forEach(r -> readByThem.add(r.value()));
                return readByThem.size() >= 2;
            }, 30_000, "both records read by Apicurio's deserializer");
        }
        assertEquals(List.of(chunk("from-apicurio"), chunk("from-longpo")), readByThem);
    }
}
