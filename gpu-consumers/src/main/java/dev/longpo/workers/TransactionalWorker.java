package dev.longpo.workers;

import dev.longpo.common.Decoder;
import dev.longpo.common.DeadLetters;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topic;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * Consume-transform-produce in Kafka transactions: each polled batch's outputs, its dead letters and
 * its consumed offsets commit atomically, so a crash at any point neither loses nor duplicates an
 * output for read_committed readers. A batch that fails is aborted and re-read from the last
 * committed offsets. Subclasses only turn a batch of decoded inputs into output records.
 *
 * @param <I> input event type
 */
public abstract class TransactionalWorker<I extends SpecificRecord> implements AutoCloseable {
    private final KafkaClients clients;
    private final Topic<I> input;
    private final String stage;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<String, SpecificRecord> producer;
    private final Decoder<I> decoder;
    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private volatile boolean ready;

    protected TransactionalWorker(KafkaClients clients, Topic<I> input, String instanceId, String stage, int maxBatch) {
        this.clients = clients;
        this.input = input;
        this.stage = stage;
        Map<String, String> overrides = new HashMap<>();
        overrides.put("consumer.max.poll.records", String.valueOf(maxBatch));
        KafkaClients c = new KafkaClients(clients.config().with(overrides));
        String group = clients.config().get("pipeline.app.prefix") + "-" + stage;
        this.consumer = c.rawConsumer(group, instanceId);
        this.producer = c.producer(instanceId, group + "-" + instanceId);
        this.decoder = new Decoder<>(clients, input, stage);
        producer.initTransactions();
    }

    /** Outputs for a batch of decoded inputs (in offset order). */
    protected abstract List<ProducerRecord<String, SpecificRecord>> process(List<ConsumerRecord<String, I>> batch)
            throws Exception;

    /** Called between batches: the place to switch models. */
    protected void betweenBatches() throws Exception {
    }

    public long processed() {
        return processed.get();
    }

    public long deadLettered() {
        return deadLettered.get();
    }

    /** True once the consumer has partitions and the first poll returned. */
    public boolean ready() {
        return ready;
    }

    protected KafkaClients clients() {
        return clients;
    }

    /** Runs until {@code stop} is set; finishes (commits) or aborts the batch in flight, then returns. */
    public void run(AtomicBoolean stop, PrintStream log) throws Exception {
        consumer.subscribe(List.of(input.name()));
        while (!stop.get()) {
            ConsumerRecords<byte[], byte[]> polled = consumer.poll(Duration.ofMillis(500));
            ready = true;
            if (polled.isEmpty()) {
                betweenBatches();
                continue;
            }
            List<ConsumerRecord<String, I>> good = new ArrayList<>();
            List<ProducerRecord<String, SpecificRecord>> out = new ArrayList<>();
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : polled) {
                Decoder.Result<I> d = decoder.decode(r);
                if (d.ok()) {
                    good.add(new ConsumerRecord<>(r.topic(), r.partition(), r.offset(), d.key(), d.value()));
                } else {
                    out.add(DeadLetters.record(d.deadLetter()));
                    deadLettered.incrementAndGet();
                }
                offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
            }
            try {
                out.addAll(process(good));
                producer.beginTransaction();
                out.forEach(producer::send);
                producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                producer.commitTransaction();
                processed.addAndGet(good.size());
            } catch (KafkaException e) {
                log.println(stage + ": transaction failed, re-reading the batch: " + e);
                abortAndRewind();
            }
            betweenBatches();
        }
    }

    /** Builds a dead letter for an input that decoded but could not be processed. */
    protected ProducerRecord<String, SpecificRecord> reject(ConsumerRecord<String, I> r, String reason) {
        var dl = DeadLetters.of(stage, reason, null).fromRecord(r.topic(), r.partition(), r.offset(),
                r.key() == null ? null : r.key().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                clients.serde(input).serialize(r.topic(), r.value())).build();
        deadLettered.incrementAndGet();
        return DeadLetters.record(dl);
    }

    private void abortAndRewind() {
        try {
            producer.abortTransaction();
        } catch (KafkaException ignored) {
            // fenced or already aborted: the consumer position is reset below either way
        }
        for (TopicPartition tp : consumer.assignment()) {
            OffsetAndMetadata committed = consumer.committed(java.util.Set.of(tp)).get(tp);
            if (committed == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, committed.offset());
            }
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
        consumer.close(Duration.ofSeconds(10));
    }
}
