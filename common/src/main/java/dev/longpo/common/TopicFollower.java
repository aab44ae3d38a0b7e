package dev.longpo.common;

import dev.longpo.events.Topic;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows a set of topics from their beginning (or their end), without a consumer group, and decodes each committed
 * record with its topic's serde: the read side of the loop's event topics, for the controller (which
 * rebuilds its state from them), the monitor and the demo. An undecodable record is reported once and
 * skipped; it never stops the view.
 */
public final class TopicFollower implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TopicFollower.class);
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, Topic<? extends SpecificRecord>> topics = new HashMap<>();
    private final KafkaClients clients;
    private final List<TopicPartition> parts = new ArrayList<>();

    public TopicFollower(KafkaClients clients, List<Topic<? extends SpecificRecord>> follow) {
        this(clients, follow, true);
    }

    /** Follows {@code follow} from their current ends: only what arrives from now on. */
    public static TopicFollower fromEnd(KafkaClients clients, List<Topic<? extends SpecificRecord>> follow) {
        return new TopicFollower(clients, follow, false);
    }

    private TopicFollower(KafkaClients clients, List<Topic<? extends SpecificRecord>> follow, boolean fromBeginning) {
        this.clients = clients;
        this.consumer = clients.rawConsumer("follow-" + UUID.randomUUID(), "longpo-follow");
        for (Topic<? extends SpecificRecord> t : follow) {
            topics.put(t.name(), t);
            consumer.partitionsFor(t.name()).forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
        }
        consumer.assign(parts);
        if (fromBeginning) {
            consumer.seekToBeginning(parts);
        } else {
            consumer.seekToEnd(parts);
            parts.forEach(consumer::position); // resolve the end now, not at the first poll
        }
    }

    /** The events that arrived within {@code timeout}, in partition order. */
    public List<SpecificRecord> poll(Duration timeout) {
        List<SpecificRecord> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
            try {
                out.add(clients.serde(topics.get(r.topic())).deserialize(r.topic(), r.value()));
            } catch (RuntimeException e) {
                LOG.warn("skipping an undecodable {} record at offset {}: {}", r.topic(), r.offset(), e.getMessage());
            }
        }
        return out;
    }

    /** True once every partition has been read to the end it had when this call started. */
    public boolean caughtUp() {
        Map<TopicPartition, Long> end = consumer.endOffsets(parts);
        return parts.stream().allMatch(p -> consumer.position(p) >= end.get(p));
    }

    /** Everything up to the current ends of the topics. */
    public List<SpecificRecord> readToEnd(Duration timeout) {
        List<SpecificRecord> out = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!caughtUp()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out reading " + topics.keySet() + " to their end");
            }
            out.addAll(poll(Duration.ofMillis(200)));
        }
        return out;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
