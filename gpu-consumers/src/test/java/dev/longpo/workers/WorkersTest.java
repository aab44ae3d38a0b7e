package dev.longpo.workers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.longpo.avro.GenerationRequest;
import dev.longpo.avro.TrainingSample;
import dev.longpo.avro.Turn;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelConfig;
import dev.longpo.model.ModelStore;
import dev.longpo.model.PreferenceSample;
import dev.longpo.model.Scorer;
import dev.longpo.model.TorchRuntime;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkersTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void model() throws Exception {
        TorchRuntime.start(2);
        try (LlamaModel m = LlamaModel.random(ModelConfig.mini(2, 32, 4, 2, 48, 10_000, 4096), Device.cpu(), 9)) {
            ModelStore.save(m, dir.resolve("tiny"), Map.of());
        }
    }

    @Test
    void pairsCarryTheReferenceLogProbsOfPiSOnTheChunkAtTheta0() throws Exception {
        GenerationRequest req = GenerationRequest.newBuilder().setRequestId("d/1/0").setDocId("d").setChunkIndex(0)
                .setInstruction("What is the key?").setShortContext("The key is 42.")
                .setLongContext("Filler text. ".repeat(20) + "The key is 42. " + "More filler. ".repeat(20))
                .setDocSha256("s").setIteration(1).setTargetLength(600).setTheta0(10_000).setTheta1(40_000)
                .setCreatedAt(Instant.EPOCH).build();
        try (ModelStore.Loaded m = ModelStore.load(dir.resolve("tiny"), Device.cpu())) {
            PairMaker.Made made = new PairMaker(m, 12, true, GenerationRequest::getLongContext).make(List.of(req)).get(0);
            assertTrue(made.chosen().length <= 12 && made.rejected().length <= 12);
            ChatFormat fmt = new ChatFormat(ByteTokenizer.INSTANCE);
            m.model().setRopeTheta(10_000);
            double[] direct = Scorer.responseLogProbSums(m.model(), ByteTokenizer.PAD,
                    List.of(fmt.prompt(req.getShortContext(), req.getInstruction()),
                            fmt.prompt(req.getShortContext(), req.getInstruction())),
                    List.of(fmt.answer(made.chosen()), fmt.answer(made.rejected())), 2);
            assertEquals(direct[0], made.refChosen(), 1e-4);
            assertEquals(direct[1], made.refRejected(), 1e-4);
            m.model().setRopeTheta(40_000);
            double[] onLong = Scorer.responseLogProbSums(m.model(), ByteTokenizer.PAD,
                    List.of(fmt.prompt(req.getLongContext(), req.getInstruction())), List.of(fmt.answer(made.chosen())), 1);
            assertEquals(onLong[0], made.refChosenLong(), 1e-4);
            assertTrue(Math.abs(made.refChosenLong() - made.refChosen()) > 1e-6, "short and long references differ");
        }
    }

    @Test
    void trainingSamplesBecomeMultiTurnPreferenceSamplesWithSummedReferences() {
        Turn a = Turn.newBuilder().setPairId("p0").setChunkIndex(0).setInstruction("q0").setShortContext("c0")
                .setChosen("x").setRejected("y").setChosenTokenIds(List.of(120)).setRejectedTokenIds(List.of(121, 122))
                .setRefChosenLogp(-1.5).setRefRejectedLogp(-4).setRefChosenLogpLong(-2.0).setRefRejectedLogpLong(-3.0).build();
        Turn b = Turn.newBuilder(a).setPairId("p1").setInstruction("q1").setRefChosenLogp(-0.5).setRefRejectedLogp(-1)
                .setRefChosenLogpLong(null).build();
        TrainingSample s = TrainingSample.newBuilder().setSampleId("d/1").setDocId("d").setLongContext("LONG")
                .setTurns(List.of(a, b)).setComplete(true).setIteration(1).setTargetLength(2048).setTheta0(1e4)
                .setTheta1(4e4).setModelVersion("m").setCreatedAt(Instant.EPOCH).build();
        PreferenceSample p = Trainer.toSample(s);
        assertEquals(List.of("q0", "q1"), p.questions());
        assertArrayEquals(new int[] {121, 122}, p.rejected().get(0));
        assertEquals(-2.0, p.refChosen());
        assertEquals(-5.0, p.refRejected());
        assertTrue(Double.isNaN(p.refChosenLong()), "a turn without a long reference leaves DPO without one");
        assertThrows(IllegalArgumentException.class, () -> Trainer.toSample(TrainingSample.newBuilder(s)
                .setLongContext(null).setLongContextRef("kafka://documents/d?sha256=s&tokens=9").build()));
    }

    @Test
    void newestCheckpointIsTheHighestCompleteStep() throws Exception {
        Path root = dir.resolve("ckpts");
        assertTrue(Trainer.newest(root, "r").isEmpty());
        java.nio.file.Files.createDirectories(root.resolve("r/step-00000002"));
        java.nio.file.Files.writeString(root.resolve("r/step-00000002/checkpoint.json"), "{}");
        java.nio.file.Files.createDirectories(root.resolve("r/step-00000010"));
        java.nio.file.Files.writeString(root.resolve("r/step-00000010/checkpoint.json"), "{}");
        java.nio.file.Files.createDirectories(root.resolve("r/.step-00000012.tmp123"));
        assertEquals("step-00000010", Trainer.newest(root, "r").orElseThrow().getFileName().toString());
        assertNull(Trainer.newest(root, "other").orElse(null));
    }
}
