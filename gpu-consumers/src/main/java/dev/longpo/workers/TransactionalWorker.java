package dev.longpo.workers;

import dev.longpo.common.DeadLetters;
import dev.longpo.common.Decoder;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.Telemetry;
import dev.longpo.events.RunScope;
import dev.longpo.events.Topic;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
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
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consume-transform-produce in Kafka transactions: each polled batch's outputs, its dead letters and
 * its consumed offsets commit atomically, so a crash at any point neither loses nor duplicates an
 * output for read_committed readers. Subclasses only turn a batch of decoded inputs into output records.
 *
 * <p>Errors follow the transactional producer's contract:
 * <ul>
 *   <li><b>fatal</b> (the producer was fenced by a newer instance with the same transactional id, a
 *       broken sequence, an unsupported broker, missing authorization): the worker stops with a
 *       {@link FatalWorkerException} that says why; nothing of the batch is committed;</li>
 *   <li><b>abortable</b> (any other {@link KafkaException} while sending or committing): the transaction
 *       is aborted, the consumer rewound to the committed offsets and the batch retried; a batch that
 *       fails twice in a row is retried one record per transaction, and a record that still cannot be
 *       committed is dead-lettered with the error, so no batch is retried forever;</li>
 *   <li><b>poison</b> (processing throws for some input): the batch is processed again one record at a
 *       time, each record that throws goes to {@code dead-letter} with the reason, and its offset is
 *       committed with the rest: the partition moves on.</li>
 * </ul>
 *
 * @param <I> input event type
 */
public abstract class TransactionalWorker<I extends SpecificRecord> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TransactionalWorker.class);
    private final KafkaClients clients;
    private final Topic<I> input;
    private final String stage;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<String, SpecificRecord> producer;
    private final Decoder<I> decoder;
    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong aborted = new AtomicLong();
    private final AtomicLong otherRun = new AtomicLong();
    private final String run;
    private final Telemetry.Scope metrics;
    private final Timer batchTimer;
    private Counter generatedTokens;
    private volatile boolean ready;
    private int failuresInARow;

    /** Stops the worker: the error cannot be recovered from by retrying (see the class comment). */
    public static final class FatalWorkerException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FatalWorkerException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    protected TransactionalWorker(KafkaClients clients, Topic<I> input, String instanceId, String stage, int maxBatch) {
        this.clients = clients;
        this.input = input;
        this.stage = stage;
        this.run = clients.config().get("run.id");
        KafkaClients c = new KafkaClients(clients.config().with("consumer.max.poll.records", maxBatch));
        String group = clients.config().get("pipeline.app.prefix") + "-" + stage;
        this.consumer = c.rawConsumer(group, instanceId);
        this.producer = c.producer(instanceId, group + "-" + instanceId);
        try { // fences an older instance of this id; a refusal (ACLs, timeout) leaves nothing open or registered
            producer.initTransactions();
        } catch (RuntimeException e) {
            producer.close(Duration.ZERO);
            consumer.close(Duration.ZERO);
            throw e;
        }
        this.decoder = new Decoder<>(clients, input, stage);
        this.metrics = Telemetry.scope("stage", stage, "instance", instanceId);
        metrics.bind(consumer);
        metrics.bind(producer);
        batchTimer = metrics.timer("longpo.worker.batch", "one polled batch: decoded, processed and committed");
        String records = "processed: decoded inputs committed with their outputs or dead letters; dead_lettered: dead"
                + " letters committed; other_run: another run's inputs, committed unprocessed";
        metrics.counter("longpo.worker.records", records, processed, AtomicLong::get, "outcome", "processed");
        metrics.counter("longpo.worker.records", records, deadLettered, AtomicLong::get, "outcome", "dead_lettered");
        metrics.counter("longpo.worker.records", records, otherRun,
                AtomicLong::get, "outcome", "other_run");
        metrics.counter("longpo.worker.aborted.transactions", "transactions aborted after an abortable error", aborted,
                AtomicLong::get);
    }

    /** Outputs for a batch of decoded inputs (in offset order). */
    protected abstract List<ProducerRecord<String, SpecificRecord>> process(List<ConsumerRecord<String, I>> batch)
            throws Exception;

    /**
     * The run an input belongs to ({@link RunScope}): inputs of another run than {@code run.id} are committed
     * without being processed. Null (the default) for inputs that are not run-scoped.
     */
    protected CharSequence runOf(I input) {
        return null;
    }

    /** Inputs of other runs skipped so far. */
    public long skippedOtherRun() {
        return otherRun.get();
    }

    /** Called between batches: the place to switch models. */
    protected void betweenBatches() throws Exception {
    }

    public long processed() {
        return processed.get();
    }

    public long deadLettered() {
        return deadLettered.get();
    }

    /** Transactions aborted after an abortable error (each one's batch was retried). */
    public long aborted() {
        return aborted.get();
    }

    /** True once the consumer has partitions and the first poll returned. */
    public boolean ready() {
        return ready;
    }

    /** Counts tokens the model generated for the batch in flight (exposed as a rate: tokens/s). */
    protected void generated(long tokens) {
        if (generatedTokens == null) { // registered by the stages that generate only
            generatedTokens = metrics.counter("longpo.worker.generated.tokens", "tokens the model generated (rate = tokens/s)");
        }
        generatedTokens.increment(tokens);
    }

    protected KafkaClients clients() {
        return clients;
    }

    protected String stage() {
        return stage;
    }

    /**
     * Runs until {@code stop} is set; finishes (commits) the batch in flight, or, when the stop reaches a
     * generation in flight ({@link dev.longpo.env.Cancellation}), abandons it before its transaction
     * begins, then returns.
     *
     * @throws FatalWorkerException when the producer is fenced, unauthorized or otherwise unusable
     */
    public void run(AtomicBoolean stop) throws Exception {
        consumer.subscribe(List.of(input.name()));
        while (!stop.get()) {
            ConsumerRecords<byte[], byte[]> polled = consumer.poll(Duration.ofMillis(500));
            ready = true;
            if (!polled.isEmpty()) {
                List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
                polled.forEach(records::add);
                try {
                    if (failuresInARow >= 2) {
                        records.forEach(this::commitAlone);
                        failuresInARow = 0;
                    } else if (timedCommit(records)) {
                        failuresInARow = 0;
                    } else {
                        failuresInARow++;
                    }
                } catch (CancellationException e) {
                    LOG.info("{}: stopped in the middle of a batch of {} ({}); nothing of it was committed, so it is"
                            + " read again on restart", stage, records.size(), e.getMessage());
                    return;
                }
            }
            betweenBatches();
        }
    }

    private boolean timedCommit(List<ConsumerRecord<byte[], byte[]>> records) {
        long start = System.nanoTime();
        boolean ok = commit(records, true);
        if (ok) {
            batchTimer.record(Duration.ofNanos(System.nanoTime() - start));
        }
        return ok;
    }

    /**
     * Decodes, processes and commits one batch in one transaction. Returns false after an abortable error
     * (the transaction is aborted and the consumer rewound, so the batch comes again).
     */
    private boolean commit(List<ConsumerRecord<byte[], byte[]>> records, boolean rewindOnFailure) {
        List<ConsumerRecord<String, I>> good = new ArrayList<>();
        List<ProducerRecord<String, SpecificRecord>> out = new ArrayList<>();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            Decoder.Result<I> d = decoder.decode(r);
            if (!d.ok()) {
                out.add(DeadLetters.record(d.deadLetter()));
                deadLettered.incrementAndGet();
            } else if (!RunScope.takes(run, runOf(d.value()))) {
                otherRun.incrementAndGet();
            } else {
                good.add(new ConsumerRecord<>(r.topic(), r.partition(), r.offset(), d.key(), d.value()));
            }
            offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        out.addAll(processOrIsolate(good));
        try {
            producer.beginTransaction();
            out.forEach(producer::send);
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            producer.commitTransaction();
            processed.addAndGet(good.size());
            return true;
        } catch (ProducerFencedException | OutOfOrderSequenceException | UnsupportedVersionException
                 | AuthorizationException | FencedInstanceIdException e) {
            throw new FatalWorkerException(stage + " worker stopped: " + fatalReason(e) + " (" + e.getMessage() + ")", e);
        } catch (KafkaException e) {
            LOG.warn("{}: transaction aborted ({}); the batch is read again", stage, e.toString());
            abort();
            if (rewindOnFailure) {
                rewind();
            }
            return false;
        }
    }

    /**
     * The outputs of a batch; if processing throws, each record is processed alone and each one that throws
     * becomes a dead letter with the reason (a poison record never blocks its partition).
     */
    private List<ProducerRecord<String, SpecificRecord>> processOrIsolate(List<ConsumerRecord<String, I>> batch) {
        if (batch.isEmpty()) {
            return List.of();
        }
        try {
            return process(batch);
        } catch (CancellationException e) {
            throw e; // asked to stop: not the records' fault
        } catch (Exception e) {
            if (batch.size() > 1) {
                LOG.warn("{}: processing a batch of {} failed ({}); processing its records one by one", stage,
                        batch.size(), e.toString());
            }
            List<ProducerRecord<String, SpecificRecord>> out = new ArrayList<>();
            for (ConsumerRecord<String, I> r : batch) {
                try {
                    out.addAll(batch.size() == 1 ? rethrow(e) : process(List.of(r)));
                } catch (CancellationException stopped) {
                    throw stopped;
                } catch (Exception single) {
                    LOG.warn("{}: {}-{}@{} dead-lettered: processing failed: {}", stage, r.topic(), r.partition(),
                            r.offset(), single.toString());
                    out.add(reject(r, "processing failed: " + single));
                }
            }
            return out;
        }
    }

    private static <T> T rethrow(Exception e) throws Exception {
        throw e;
    }

    /**
     * After two failed batches in a row: one record per transaction; a record whose own transaction fails
     * again is committed as a dead letter with the error.
     */
    private void commitAlone(ConsumerRecord<byte[], byte[]> r) {
        if (commit(List.of(r), false)) {
            return;
        }
        var dl = DeadLetters.of(stage, "its outputs could not be committed twice: see the worker's log", null)
                .fromRecord(r.topic(), r.partition(), r.offset(), r.key(), r.value()).build();
        try {
            producer.beginTransaction();
            producer.send(DeadLetters.record(dl));
            producer.sendOffsetsToTransaction(Map.of(new TopicPartition(r.topic(), r.partition()),
                    new OffsetAndMetadata(r.offset() + 1)), consumer.groupMetadata());
            producer.commitTransaction();
            deadLettered.incrementAndGet();
        } catch (ProducerFencedException | OutOfOrderSequenceException | UnsupportedVersionException
                 | AuthorizationException | FencedInstanceIdException e) {
            throw new FatalWorkerException(stage + " worker stopped: " + fatalReason(e) + " (" + e.getMessage() + ")", e);
        } catch (KafkaException e) {
            abort();
            rewind();
            throw new FatalWorkerException(stage + " worker stopped: not even a dead letter for " + r.topic() + "-"
                    + r.partition() + "@" + r.offset() + " could be committed (" + e.getMessage() + ")", e);
        }
    }

    private static String fatalReason(KafkaException e) {
        if (e instanceof ProducerFencedException || e instanceof FencedInstanceIdException) {
            return "another instance with the same id took over (fenced): run one worker per --instance";
        }
        if (e instanceof AuthorizationException) {
            return "not authorized: check the credentials and ACLs of this role";
        }
        if (e instanceof UnsupportedVersionException) {
            return "the broker does not support transactions of this client";
        }
        return "the producer's sequence broke; a restart resumes from the committed offsets";
    }

    /** Builds a dead letter for an input that decoded but could not be processed. */
    protected ProducerRecord<String, SpecificRecord> reject(ConsumerRecord<String, I> r, String reason) {
        var dl = DeadLetters.of(stage, reason, null).fromRecord(r.topic(), r.partition(), r.offset(),
                r.key() == null ? null : r.key().getBytes(StandardCharsets.UTF_8),
                clients.serde(input).serialize(r.topic(), r.value())).build();
        deadLettered.incrementAndGet();
        return DeadLetters.record(dl);
    }

    private void abort() {
        aborted.incrementAndGet();
        try {
            producer.abortTransaction();
        } catch (KafkaException e) {
            LOG.debug("{}: abort after a failed transaction: {}", stage, e.toString());
        }
    }

    private void rewind() {
        Set<TopicPartition> assigned = consumer.assignment();
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assigned);
        for (TopicPartition tp : assigned) {
            OffsetAndMetadata c = committed.get(tp);
            if (c == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, c.offset());
            }
        }
    }

    @Override
    public void close() {
        metrics.close();
        producer.close(Duration.ofSeconds(10));
        consumer.close(Duration.ofSeconds(10));
    }
}
