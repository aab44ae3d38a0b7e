package dev.longpo.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.DeadLetter;
import dev.longpo.avro.Document;
import dev.longpo.avro.InstructionRequest;
import dev.longpo.events.Topics;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class InstructionFanoutTest {
    static final Duration TICK = Duration.ofSeconds(1);

    private static Harness harness() throws Exception {
        Harness h = new Harness();
        return h.start(InstructionFanout.buildTopology(h.support, "run", TICK));
    }

    private static void ingest(Harness h, Document d, int chunkBytes, boolean chunksFirst) {
        if (!chunksFirst) {
            h.send(Topics.DOCUMENTS, d.getDocId(), d);
        }
        for (int i = d.getNumChunks() - 1; i >= 0; i--) {
            h.send(Topics.CHUNKS, d.getDocId(), Harness.chunk(d, i, chunkBytes));
        }
        if (chunksFirst) {
            h.send(Topics.DOCUMENTS, d.getDocId(), d);
        }
    }

    @Test
    void pickedChunksAreDeterministicFitTheShortWindowAndRespectTheTurnLimit() throws Exception {
        List<InstructionRequest> first;
        try (Harness h = harness()) {
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 100, 2000, 3));
            ingest(h, Harness.document("d1", 8, 200), 200, false);
            first = h.out(Topics.INSTRUCTION_REQUESTS).readValuesToList();
        }
        assertEquals(3, first.size());
        for (InstructionRequest r : first) {
            assertEquals("d1/1/" + r.getChunkIndex(), r.getRequestId());
            assertEquals("run", r.getRunId(), "scoped to the run whose iteration asked");
            assertEquals(1, r.getIteration());
            assertEquals("m0", r.getModelVersion());
            assertEquals(String.valueOf((char) ('a' + r.getChunkIndex())).repeat(200), r.getChunkText());
        }
        assertTrue(first.get(0).getChunkIndex() < first.get(1).getChunkIndex(), "requests in chunk order");
        try (Harness h = harness()) {
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 100, 2000, 3));
            ingest(h, Harness.document("d1", 8, 200), 200, true);
            assertEquals(first.stream().map(InstructionRequest::getRequestId).toList(),
                    h.out(Topics.INSTRUCTION_REQUESTS).readValuesToList().stream().map(InstructionRequest::getRequestId).toList(),
                    "same pick whatever the arrival order");
        }
        try (Harness h = harness()) {
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 199, 100, 2000, 3));
            ingest(h, Harness.document("d1", 8, 200), 200, false);
            assertTrue(h.out(Topics.INSTRUCTION_REQUESTS).isEmpty(), "no chunk fits a 199-token window");
        }
    }

    @Test
    void waitsForEveryChunkAndEmitsOncePerIteration() throws Exception {
        try (Harness h = harness()) {
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 0, 4000, 2));
            Document d = Harness.document("d2", 3, 100);
            h.send(Topics.CHUNKS, "d2", Harness.chunk(d, 0, 100));
            h.send(Topics.DOCUMENTS, "d2", d);
            h.send(Topics.CHUNKS, "d2", Harness.chunk(d, 2, 100));
            assertTrue(h.out(Topics.INSTRUCTION_REQUESTS).isEmpty(), "chunk 1 still missing");
            h.send(Topics.CHUNKS, "d2", Harness.chunk(d, 1, 100));
            var out = h.out(Topics.INSTRUCTION_REQUESTS);
            assertEquals(2, out.readValuesToList().size());
            h.send(Topics.DOCUMENTS, "d2", d); // re-ingested: same id and content
            h.send(Topics.CHUNKS, "d2", Harness.chunk(d, 1, 100));
            assertTrue(out.isEmpty(), "no second set for the same iteration");
        }
    }

    @Test
    void documentsBeforeTheIterationAreScannedWhenItStartsAndTheRangeApplies() throws Exception {
        try (Harness h = harness()) {
            ingest(h, Harness.document("small", 2, 50), 50, false);     // 102 tokens
            ingest(h, Harness.document("mid", 4, 200), 200, false);     // 806 tokens
            ingest(h, Harness.document("huge", 20, 200), 200, false);   // 4038 tokens
            var out = h.out(Topics.INSTRUCTION_REQUESTS);
            h.advance(2000);
            assertTrue(out.isEmpty(), "no iteration yet");
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 200, 2048, 4));
            h.advance(1000);
            List<InstructionRequest> it1 = out.readValuesToList();
            assertEquals(List.of("mid"), it1.stream().map(InstructionRequest::getDocId).distinct().toList());
            assertEquals(4, it1.size());
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 2, 256, 200, 4096, 4));
            h.advance(1000);
            List<InstructionRequest> it2 = out.readValuesToList();
            assertEquals(List.of("huge", "mid"), it2.stream().map(InstructionRequest::getDocId).distinct().sorted().toList());
            assertTrue(it2.stream().allMatch(r -> r.getIteration() == 2));
        }
    }

    @Test
    void badRecordsGoToDeadLetterAndTheStreamGoesOn() throws Exception {
        try (Harness h = harness()) {
            h.send(Topics.ITERATIONS, "run", Harness.start("run", 1, 256, 0, 4000, 1));
            h.raw(Topics.CHUNKS.name()).pipeInput("d3", new byte[] {0, 0, 0, 0, 9, 1, 2});
            h.raw(Topics.CHUNKS.name()).pipeInput("d3", "not avro".getBytes());
            Document d = Harness.document("d3", 1, 100);
            h.send(Topics.CHUNKS, "other-key", Harness.chunk(d, 0, 100));
            ingest(h, d, 100, false);
            List<DeadLetter> dead = h.deadLetters();
            assertEquals(3, dead.size());
            assertTrue(dead.get(0).getReason().contains("schema id 9"), dead.get(0).getReason());
            assertTrue(dead.get(1).getReason().contains("not Confluent-framed"), dead.get(1).getReason());
            assertTrue(dead.get(2).getReason().contains("differs from doc_id"), dead.get(2).getReason());
            assertEquals("chunks", dead.get(0).getSourceTopic());
            assertEquals(0L, dead.get(0).getSourceOffset());
            assertEquals("fanout", dead.get(0).getStage());
            assertEquals(1, h.out(Topics.INSTRUCTION_REQUESTS).readValuesToList().size(), "good records still flow");
        }
    }
}
