package dev.longpo.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.TrainingMetrics;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The monitor's and the demo's view of a run, built from recorded events. */
class LoopStateTest {
    @TempDir
    Path dir;

    static IterationEvent decision(String run, IterationEventType type, int k, String version, double theta1) {
        return IterationEvent.newBuilder().setRunId(run).setIteration(k).setType(type).setModelVersion(version)
                .setShortWindow(256).setMinLength(512).setTargetLength(256 << (k + 2)).setTheta0(1e4).setTheta1(theta1)
                .setMaxTurns(2).setSampleBudget(8).setReason("r").setCreatedAt(Instant.EPOCH).build();
    }

    static EvalResult eval(String version, String task, int length, Double depth, double score) {
        return EvalResult.newBuilder().setModelVersion(version).setIteration(0).setTask(task).setLength(length)
                .setDepth(depth).setScore(score).setN(4).setCreatedAt(Instant.EPOCH).build();
    }

    static TrainingMetrics metrics(String run, long step, int iteration, double loss, double acc) {
        return TrainingMetrics.newBuilder().setRunId(run).setStep(step).setIteration(iteration).setModelVersion(run + "-" + step)
                .setObjective("LONGPO").setLoss(loss).setNll(loss / 2).setPrefLoss(0.6).setRewardChosen(0.1 * step)
                .setRewardRejected(-0.1 * step).setRewardAccuracy(acc).setMargin(0.2 * step).setLearningRate(1e-4)
                .setGradNorm(1).setTokensPerSecond(1000).setSampleIds(List.of("s" + step)).setCreatedAt(Instant.EPOCH).build();
    }

    static Checkpoint ckpt(String run, String version, int iteration, long step) {
        return Checkpoint.newBuilder().setRunId(run).setModelVersion(version).setUri("file:///c").setSha256("s")
                .setSizeBytes(1).setStep(step).setIteration(iteration).setTheta(9e4).setMaxLength(8192)
                .setCreatedAt(Instant.EPOCH).build();
    }

    static LoopState recorded() {
        LoopState s = new LoopState(null, "short_math", 0.5);
        s.accept(decision("old", IterationEventType.START, 1, "pi_S", 9e4));
        s.accept(decision("new", IterationEventType.START, 1, "pi_S", 9e4));
        s.accept(ckpt("new", "pi_S", 0, 0));
        for (int l : new int[] {256, 512, 1024, 2048}) {
            s.accept(eval("pi_S", "niah_single", l, null, l <= 256 ? 1.0 : l == 512 ? 0.6 : 0.0));
            s.accept(eval("pi_S", "vt", l, null, 0.2));
            s.accept(eval("new-step-8", "niah_single", l, null, l <= 1024 ? 0.9 : 0.5));
            s.accept(eval("new-step-8", "vt", l, null, 0.4));
            s.accept(eval("new-step-8", "niah_single", l, 0.5, 0.75));
        }
        s.accept(eval("pi_S", "short_math", 128, null, 0.40));
        s.accept(eval("new-step-8", "short_math", 128, null, 0.35));
        for (int step = 1; step <= 8; step++) {
            s.accept(metrics("new", step, 1, 2.0 - 0.1 * step, step < 4 ? 0.0 : 1.0));
        }
        s.accept(metrics("old", 1, 1, 9.9, 0.0));
        s.accept(ckpt("new", "new-step-8", 1, 8));
        s.accept(decision("new", IterationEventType.PROMOTE, 1, "new-step-8", 9e4));
        s.accept(decision("new", IterationEventType.STOP, 1, "new-step-8", 9e4));
        return s;
    }

    @Test
    void followsTheNewestRunAndKeepsOnlyItsDecisionsAndMetrics() {
        LoopState s = recorded();
        assertEquals("new", s.run());
        assertEquals(3, s.decisions().size());
        assertEquals(8, s.metrics().size());
        assertTrue(s.stopped());
        assertEquals(List.of("pi_S", "new-step-8"), s.rows().stream().map(LoopState.Row::version).toList());
    }

    @Test
    void effectiveLengthIsTheLongestLengthUpToWhichTheMeanHoldsTheThreshold() {
        LoopState s = recorded();
        assertEquals(0.6, s.longMean("pi_S", 256), 1e-9);
        assertEquals(256, s.effectiveLength("pi_S"), "mean 0.4 at 512 is below 0.5");
        assertEquals(1024, s.effectiveLength("new-step-8"), "mean 0.45 at 2048 is below 0.5");
        assertEquals(0.35, s.shortScore("new-step-8"), 1e-9);
    }

    @Test
    void theTableHasARowPerModelAndABlockPerTask() {
        String t = recorded().table(recorded().rows());
        assertTrue(t.contains("pi_S (base): pi_S"), t);
        assertTrue(t.contains("iteration 1: step-8"), t);
        String piRow = t.lines().filter(l -> l.startsWith("  pi_S (base)")).findFirst().orElseThrow();
        assertTrue(piRow.matches(".*0\\.60\\s+0\\.40\\s+0\\.10\\s+0\\.10\\s+0\\.40\\s+256"), piRow);
        assertTrue(t.contains("niah_single") && t.contains("\nvt "), t);
    }

    @Test
    void plotsAreWrittenAsPngs() throws Exception {
        List<Path> files = Plots.write(recorded(), dir);
        assertEquals(List.of("rewards.png", "accuracy.png", "losses.png", "heatmap-new-step-8.png"),
                files.stream().map(p -> p.getFileName().toString()).toList());
        for (Path f : files) {
            BufferedImage img = ImageIO.read(f.toFile());
            assertTrue(img.getWidth() > 200 && img.getHeight() > 100 && Files.size(f) > 1000, f.toString());
        }
    }
}
