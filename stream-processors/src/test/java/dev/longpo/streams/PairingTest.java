package dev.longpo.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.Document;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.avro.Instruction;
import dev.longpo.events.Topics;
import dev.longpo.text.ByteTokenizer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;

class PairingTest {
    private static Harness harness(int inlineMax) throws Exception {
        Harness h = new Harness();
        return h.start(Pairing.buildTopology(h.support, "run", ByteTokenizer.INSTANCE, inlineMax, Duration.ofSeconds(1)));
    }

    static Instruction instruction(String doc, int chunk, int iteration) {
        return Instruction.newBuilder().setRequestId(doc + "/" + iteration + "/" + chunk).setDocId(doc).setChunkIndex(chunk)
                .setInstruction("What is the key?").setIteration(iteration).setModelVersion("m0")
                .setCreatedAt(Instant.EPOCH).build();
    }

    @Test
    void joinsShortAndLongContextWithTheIterationsThetas() throws Exception {
        try (Harness h = harness(1 << 20)) {
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 0, 300, 2));
            Document d = Harness.document("d1", 3, 200);
            h.send(Topics.DOCUMENTS, "d1", d);
            for (int i = 0; i < 3; i++) {
                h.send(Topics.CHUNKS, "d1", Harness.chunk(d, i, 200));
            }
            h.send(Topics.INSTRUCTIONS, "d1", instruction("d1", 1, 1));
            GenerationRequest r = h.out(Topics.GENERATION_REQUESTS).readValue();
            assertEquals("b".repeat(200), r.getShortContext());
            assertEquals(d.getText().substring(0, 300), r.getLongContext(), "document cut to the target length");
            assertEquals(1e4, r.getTheta0());
            assertEquals(2e4, r.getTheta1());
            assertEquals(300, r.getTargetLength());
            assertEquals("What is the key?", r.getInstruction());
            assertEquals("d1/1/1", r.getRequestId());
            assertEquals("run", r.getRunId());
            assertNull(r.getLongContextRef());
        }
    }

    @Test
    void anotherRunsInstructionIsNeitherPairedNorKeptWhileOursAndUnscopedOnesAre() throws Exception {
        try (Harness h = harness(1 << 20)) {
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 0, 4096, 2));
            h.send(Topics.ITERATIONS, "other", Harness.start("other", 1, 256, 0, 4096, 2));
            Document d = Harness.document("d5", 3, 100);
            h.send(Topics.DOCUMENTS, "d5", d);
            for (int i = 0; i < 3; i++) {
                h.send(Topics.CHUNKS, "d5", Harness.chunk(d, i, 100));
            }
            var out = h.out(Topics.GENERATION_REQUESTS);
            h.send(Topics.INSTRUCTIONS, "d5", Instruction.newBuilder(instruction("d5", 0, 1)).setRunId("other").build());
            h.advance(1500);
            assertTrue(out.isEmpty(), "the other run's pairing answers it");
            KeyValueStore<String, Instruction> pending = h.driver.getKeyValueStore(Pairing.PENDING);
            assertFalse(pending.all().hasNext(), "nothing of the other run waits here");
            h.send(Topics.INSTRUCTIONS, "d5", Instruction.newBuilder(instruction("d5", 1, 1)).setRunId("run").build());
            h.send(Topics.INSTRUCTIONS, "d5", instruction("d5", 2, 1)); // unscoped: any run takes it
            assertEquals(List.of("d5/1/1", "d5/1/2"),
                    out.readValuesToList().stream().map(GenerationRequest::getRequestId).toList());
        }
    }

    @Test
    void anInstructionArrivingFirstWaitsForItsDocumentChunkAndIteration() throws Exception {
        try (Harness h = harness(1 << 20)) {
            var out = h.out(Topics.GENERATION_REQUESTS);
            h.send(Topics.INSTRUCTIONS, "d2", instruction("d2", 0, 1));
            Document d = Harness.document("d2", 2, 50);
            h.send(Topics.CHUNKS, "d2", Harness.chunk(d, 0, 50));
            h.send(Topics.DOCUMENTS, "d2", d);
            assertTrue(out.isEmpty(), "iteration not known yet");
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 0, 4096, 2));
            h.advance(1500);
            List<GenerationRequest> got = out.readValuesToList();
            assertEquals(1, got.size());
            assertEquals(d.getText(), got.get(0).getLongContext());
            h.advance(1500);
            assertTrue(out.isEmpty(), "released once");
        }
    }

    @Test
    void largeLongContextsArePassedByReference() throws Exception {
        try (Harness h = harness(500)) {
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 0, 4096, 2));
            Document d = Harness.document("d3", 4, 200);
            h.send(Topics.DOCUMENTS, "d3", d);
            h.send(Topics.CHUNKS, "d3", Harness.chunk(d, 2, 200));
            h.send(Topics.INSTRUCTIONS, "d3", instruction("d3", 2, 1));
            GenerationRequest r = h.out(Topics.GENERATION_REQUESTS).readValue();
            assertNull(r.getLongContext());
            assertEquals("kafka://documents/d3?sha256=sha-d3&tokens=4096", r.getLongContextRef());
            assertEquals("c".repeat(200), r.getShortContext());
        }
    }

    @Test
    void undecodableInstructionsAreDeadLettered() throws Exception {
        try (Harness h = harness(1 << 20)) {
            h.raw(Topics.INSTRUCTIONS.name()).pipeInput("d4", new byte[] {1, 2, 3});
            Instruction empty = Instruction.newBuilder(instruction("d4", 0, 1)).setInstruction(" ").build();
            h.send(Topics.INSTRUCTIONS, "d4", empty);
            var dead = h.deadLetters();
            assertEquals(2, dead.size());
            assertEquals("pairing", dead.get(0).getStage());
            assertEquals("empty instruction", dead.get(1).getReason());
        }
    }
}
