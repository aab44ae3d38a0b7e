package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.DeadLetter;
import dev.longpo.avro.Instruction;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import dev.longpo.workers.TransactionalWorker;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The transactional worker's error handling on a real broker, with a scripted worker on topics of its
 * own: a poison input is dead-lettered and the rest committed; an abortable error (a record over the
 * size limit) aborts the transaction and the batch is retried and committed once; a fenced producer
 * stops the worker with a clear message.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class TransactionalWorkerIT {
    /** Echoes each request as an instruction; throws for a poison chunk; can emit one oversize record once. */
    static final class Scripted extends TransactionalWorker<InstructionRequest> {
        final Topic<Instruction> out;
        final AtomicInteger batches = new AtomicInteger();
        final AtomicBoolean oversizeOnce = new AtomicBoolean();

        Scripted(KafkaClients clients, Topic<InstructionRequest> in, Topic<Instruction> out, String instance) {
            super(clients, in, instance, "scripted", 4);
            this.out = out;
        }

        @Override
        protected List<ProducerRecord<String, SpecificRecord>> process(List<ConsumerRecord<String, InstructionRequest>> batch) {
            batches.incrementAndGet();
            List<ProducerRecord<String, SpecificRecord>> records = new ArrayList<>();
            for (ConsumerRecord<String, InstructionRequest> r : batch) {
                if (r.value().getChunkText().contains("POISON")) {
                    throw new IllegalStateException("cannot process " + r.value().getRequestId());
                }
                String text = oversizeOnce.getAndSet(false) ? "x".repeat(Topics.MAX_REQUEST_BYTES + 1024) : "echo";
                records.add(new ProducerRecord<>(out.name(), r.key(), Instruction.newBuilder()
                        .setRequestId(r.value().getRequestId()).setDocId(r.value().getDocId())
                        .setChunkIndex(r.value().getChunkIndex()).setInstruction(text).setIteration(1)
                        .setModelVersion("m").setCreatedAt(Instant.EPOCH).build()));
            }
            return records;
        }
    }

    private record Topics2(Topic<InstructionRequest> in, Topic<Instruction> out) {
    }

    private static Topics2 topics(KafkaClients clients, String tag) throws Exception {
        Topic<InstructionRequest> in = new Topic<>("it-worker-in-" + tag, InstructionRequest.class, 1, Map.of(), "doc_id");
        Topic<Instruction> out = new Topic<>("it-worker-out-" + tag, Instruction.class, 1, Map.of(), "doc_id");
        try (Admin admin = clients.admin()) {
            admin.createTopics(List.of(new NewTopic(in.name(), 1, (short) 1), new NewTopic(out.name(), 1, (short) 1)))
                    .all().get();
        }
        return new Topics2(in, out);
    }

    private static void send(KafkaClients clients, Topic<InstructionRequest> in, String tag, String... chunks)
            throws Exception {
        try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-worker", null)) {
            for (int i = 0; i < chunks.length; i++) {
                p.send(new ProducerRecord<>(in.name(), tag, InstructionRequest.newBuilder().setRequestId(tag + "/" + i)
                        .setDocId(tag).setChunkIndex(i).setChunkText(chunks[i]).setIteration(1).setSeed(i)
                        .setCreatedAt(Instant.EPOCH).build())).get();
            }
        }
    }

    private static List<Instruction> outputs(KafkaClients clients, Topic<Instruction> out) {
        return TopicReader.readAll(clients, out).stream().map(ConsumerRecord::value).toList();
    }

    private static List<DeadLetter> deadLetters(KafkaClients clients, Topic<InstructionRequest> in) {
        return TopicReader.readAll(clients, Topics.DEAD_LETTER).stream().map(ConsumerRecord::value)
                .filter(d -> in.name().equals(d.getSourceTopic())).toList();
    }

    private static KafkaClients clients(String tag) throws Exception {
        return new KafkaClients(RealStack.get().config().with("pipeline.app.prefix", "it-" + tag));
    }

    private static Thread start(Scripted w, AtomicBoolean stop, AtomicReference<Throwable> failure) {
        Thread t = new Thread(() -> {
            try {
                w.run(stop);
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "scripted-worker");
        t.start();
        return t;
    }

    @Test
    void aPoisonInputIsDeadLetteredWithItsReasonAndTheWorkerGoesOn() throws Exception {
        String tag = UUID.randomUUID().toString().substring(0, 8);
        KafkaClients clients = clients(tag);
        Topics2 t = topics(clients, tag);
        send(clients, t.in(), tag, "a", "b POISON", "c");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (Scripted w = new Scripted(clients, t.in(), t.out(), "w1")) {
            Thread th = start(w, stop, failure);
            TestUtils.waitForCondition(() -> outputs(clients, t.out()).size() >= 2, 60_000, "the two good outputs");
            send(clients, t.in(), tag + "-later", "d");
            TestUtils.waitForCondition(() -> outputs(clients, t.out()).size() >= 3, 60_000, "the worker goes on");
            stop.set(true);
            th.join(30_000);
            assertEquals(null, failure.get());
            assertEquals(1, w.deadLettered());
        }
        assertEquals(List.of(tag + "/0", tag + "/2", tag + "-later/0"),
                outputs(clients, t.out()).stream().map(Instruction::getRequestId).toList(), "each good input once, in order");
        List<DeadLetter> dead = deadLetters(clients, t.in());
        assertEquals(1, dead.size());
        assertEquals("scripted", dead.get(0).getStage());
        assertEquals(1L, dead.get(0).getSourceOffset());
        assertTrue(dead.get(0).getReason().contains("processing failed") && dead.get(0).getReason().contains(tag + "/1"),
                dead.get(0).getReason());
    }

    @Test
    void anAbortableErrorAbortsTheTransactionAndTheBatchIsCommittedOnceOnRetry() throws Exception {
        String tag = UUID.randomUUID().toString().substring(0, 8);
        KafkaClients clients = clients(tag);
        Topics2 t = topics(clients, tag);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (Scripted w = new Scripted(clients, t.in(), t.out(), "w1")) {
            w.oversizeOnce.set(true); // the first batch's first output is larger than a request may be
            send(clients, t.in(), tag, "a", "b", "c");
            Thread th = start(w, stop, failure);
            TestUtils.waitForCondition(() -> outputs(clients, t.out()).size() >= 3, 60_000, "the retried batch");
            Thread.sleep(1000); // a duplicate would be committed by now
            stop.set(true);
            th.join(30_000);
            assertEquals(null, failure.get());
            assertEquals(1, w.aborted(), "one aborted transaction");
            assertEquals(0, w.deadLettered());
            assertTrue(w.batches.get() >= 2, "the batch was processed again");
        }
        assertEquals(List.of(tag + "/0", tag + "/1", tag + "/2"),
                outputs(clients, t.out()).stream().map(Instruction::getRequestId).toList(), "committed once, nothing lost");
        assertTrue(outputs(clients, t.out()).stream().allMatch(i -> i.getInstruction().equals("echo")));
    }

    @Test
    void aFencedProducerStopsTheWorkerWithAClearMessage() throws Exception {
        String tag = UUID.randomUUID().toString().substring(0, 8);
        KafkaClients clients = clients(tag);
        Topics2 t = topics(clients, tag);
        send(clients, t.in(), tag, "a");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (Scripted w = new Scripted(clients, t.in(), t.out(), "w1")) {
            Thread th = start(w, stop, failure);
            TestUtils.waitForCondition(() -> outputs(clients, t.out()).size() >= 1, 60_000, "the first output");
            Map<String, Object> p = new HashMap<>(clients.common());
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "it-" + tag + "-scripted-w1"); // the worker's own id
            try (KafkaProducer<byte[], byte[]> usurper = new KafkaProducer<>(p, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                usurper.initTransactions(); // bumps the epoch: the worker's producer is fenced
                send(clients, t.in(), tag + "-after", "b");
                th.join(60_000);
            }
            Throwable e = failure.get();
            assertInstanceOf(TransactionalWorker.FatalWorkerException.class, e, String.valueOf(e));
            assertTrue(e.getMessage().contains("fenced"), e.getMessage());
            assertInstanceOf(ProducerFencedException.class, e.getCause());
        }
        assertEquals(List.of(tag + "/0"), outputs(clients, t.out()).stream().map(Instruction::getRequestId).toList(),
                "nothing of the fenced batch is committed");
    }
}
