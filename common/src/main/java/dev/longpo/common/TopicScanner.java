package dev.longpo.common;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads a topic's committed records from the beginning up to its current end, without joining a
 * consumer group: for reports, monitors and tests that need "everything so far".
 */
public final class TopicScanner {
    private TopicScanner() {
    }

    /** Hands every committed record of {@code topic} to {@code sink}; returns how many there were. */
    public static long scan(KafkaClients clients, String topic, Duration timeout,
                            Consumer<ConsumerRecord<byte[], byte[]>> sink) {
        long n = 0;
        try (KafkaConsumer<byte[], byte[]> c = clients.rawConsumer("scan-" + UUID.randomUUID(), "longpo-scan")) {
            List<TopicPartition> parts = c.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (parts.stream().anyMatch(p -> c.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("timed out reading " + topic + " to its end");
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    sink.accept(r);
                    n++;
                }
            }
        }
        return n;
    }
}
