package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.longpo.avro.DeadLetter;
import dev.longpo.avro.Instruction;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import dev.longpo.tasks.CorpusGenerator;
import dev.longpo.tasks.SelfInstruct;
import dev.longpo.tasks.Tasks;
import dev.longpo.workers.InstructionGenerator;
import dev.longpo.workers.ModelSlot;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.test.TestUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The committed pi_S writes instructions for chunks through the transactional instruction generator; the
 * requests of another run on the shared topic are committed unanswered.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class InstructionWorkerIT {
    @Test
    void everyRequestBecomesOneInstructionOrOneDeadLetter() throws Exception {
        RealStack stack = RealStack.get();
        String tag = "ins-" + UUID.randomUUID().toString().substring(0, 8);
        KafkaClients clients = stack.clients(tag);
        Map<String, String> chunks = new HashMap<>();
        Random rnd = new Random(11);
        try (KafkaProducer<String, SpecificRecord> p = clients.producer("it-instruct", null)) {
            // same key, one partition, read in order: 0-5 ours (even ones scoped, odd ones unscoped), 6-7 another
            // run's, 8 ours again, so once 8 is answered the other run's two were read too
            for (int i = 0; i < 9; i++) {
                String chunk = CorpusGenerator.document(230, 240, rnd);
                String id = tag + "/1/" + i;
                boolean other = i == 6 || i == 7;
                if (!other) {
                    chunks.put(id, chunk);
                }
                p.send(new ProducerRecord<>(Topics.INSTRUCTION_REQUESTS.name(), tag, InstructionRequest.newBuilder()
                        .setRequestId(id).setRunId(other ? "another-run" : i % 2 == 0 ? tag : "").setDocId(tag)
                        .setChunkIndex(i).setChunkText(chunk).setIteration(1).setSeed(i).setCreatedAt(Instant.now())
                        .build()));
            }
        }
        AtomicBoolean stop = new AtomicBoolean();
        try (ModelSlot slot = new ModelSlot(clients, tag, Path.of("..", "models", "pi-s"), "pi_S", Device.cpu());
             InstructionGenerator gen = new InstructionGenerator(clients, slot, tag, 6, 4, 48, SelfInstruct.MINI)) {
            Thread t = Background.start(stop, gen::run);
            // the shared topic may hold other tests' requests first: wait for this test's own outcomes
            TestUtils.waitForCondition(() -> instructions(clients, tag).size() + deadLetters(clients, tag).size() >= 7,
                    180_000, "an outcome for each of the seven requests of this run");
            stop.set(true);
            t.join(30_000);
            assertTrue(gen.skippedOtherRun() >= 2, "the other run's two requests were read and skipped");
        }
        List<Instruction> instructions = instructions(clients, tag);
        List<DeadLetter> dead = deadLetters(clients, tag);
        assertEquals(7, instructions.size() + dead.size(), "one outcome per request of this run (or unscoped), none"
                + " for the other run's: " + instructions.stream().map(Instruction::getRequestId).toList());
        instructions.forEach(i -> assertTrue(i.getRunId().equals(tag) || i.getRunId().isEmpty(), "the run id is copied"));
        assertTrue(instructions.stream().noneMatch(i -> i.getChunkIndex() == 6 || i.getChunkIndex() == 7),
                "the other run's requests are not answered");
        assertTrue(instructions.size() >= 5, "pi_S should write answerable questions for most chunks: " + dead);
        for (Instruction i : instructions) {
            String key = Tasks.parseQuestion(i.getInstruction(), chunks.get(i.getRequestId()));
            assertNotNull(key, i.getInstruction());
            assertTrue(i.getPool().contains(i.getInstruction()));
            assertEquals("pi_S", i.getModelVersion());
        }
        dead.forEach(d -> assertTrue(d.getReason().startsWith("no question in the pool"), d.getReason()));
    }

    private static List<Instruction> instructions(KafkaClients clients, String tag) {
        return TopicReader.readAll(clients, Topics.INSTRUCTIONS).stream().map(ConsumerRecord::value)
                .filter(i -> i.getDocId().equals(tag)).toList();
    }

    private static List<DeadLetter> deadLetters(KafkaClients clients, String tag) {
        return TopicReader.readAll(clients, Topics.DEAD_LETTER).stream().map(ConsumerRecord::value)
                .filter(d -> "instruct".equals(d.getStage()) && d.getKey() != null
                        && new String(d.getKey().array(), java.nio.charset.StandardCharsets.UTF_8).equals(tag)).toList();
    }
}
