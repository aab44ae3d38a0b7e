package dev.longpo.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.TrainingSample;
import dev.longpo.avro.Turn;
import dev.longpo.model.Objective;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reproduction's arms, its resumable store and the rankings of its report. */
class ReproductionTest {
    @TempDir
    Path dir;

    @Test
    void armsNameAnObjectiveAndOptionallyReplayAndAnAnchor() {
        Reproduction.Arm a = Reproduction.Arm.parse("LongPO+replay", 0.5, 2.0);
        assertEquals(Objective.LONGPO, a.objective());
        assertEquals(0.5, a.replay());
        assertEquals(0.0, a.anchor());
        assertEquals("longpo+replay", a.name());
        Reproduction.Arm both = Reproduction.Arm.parse("longpo+anchor+replay", 0.5, 2.0);
        assertEquals(0.5, both.replay());
        assertEquals(2.0, both.anchor());
        assertEquals(0.0, Reproduction.Arm.parse("sft_chosen_s2l", 0.5, 2.0).replay());
        assertEquals(Objective.SFT_CHOSEN_S2L, Reproduction.Arm.parse("sft_chosen_s2l", 0.5, 2.0).objective());
        assertThrows(IllegalArgumentException.class, () -> Reproduction.Arm.parse("ppo", 0.5, 2.0));
        assertThrows(IllegalArgumentException.class, () -> Reproduction.Arm.parse("longpo+kl", 0.5, 2.0));
        assertThrows(IllegalArgumentException.class, () -> Reproduction.Arm.parse("opsd+anchor", 0.5, 2.0));
        Reproduction.Arm opsd = Reproduction.Arm.parse("opsd", 0.5, 2.0);
        assertTrue(opsd.selfDistillation());
        assertEquals("OPSD", opsd.method());
    }

    private static TrainingSample sample(String id) {
        Turn t = Turn.newBuilder().setPairId(id + "/p").setChunkIndex(0).setInstruction("q?").setShortContext("chunk")
                .setChosen("a").setRejected("b").setChosenTokenIds(List.of(97)).setRejectedTokenIds(List.of(98))
                .setRefChosenLogp(-1).setRefRejectedLogp(-2).build();
        return TrainingSample.newBuilder().setSampleId(id).setDocId(id).setLongContext("long chunk").setTurns(List.of(t))
                .setComplete(true).setIteration(1).setTargetLength(1024).setTheta0(1e6).setTheta1(1e6).setModelVersion("m")
                .setCreatedAt(Instant.EPOCH).build();
    }

    private static Reproduction.Eval eval(int step, double atTarget, double beyond, double shortScore) {
        Map<Integer, Double> avg = new LinkedHashMap<>(Map.of(256, 1.0, 1024, atTarget, 2048, beyond));
        return new Reproduction.Eval(step, Map.of("niah_single", avg, "short_mc", Map.of(256, shortScore)), avg, shortScore,
                atTarget >= 0.8 ? 1024 : 256, 1.0);
    }

    private static Reproduction.ArmResult arm(String name, Reproduction.Eval base, Reproduction.Eval last) {
        List<Reproduction.Step> steps = List.of(new Reproduction.Step(1, 1, 1, 0.7, -1, 1, 0, -2),
                new Reproduction.Step(2, 0.9, 0.8, 0.6, 0.5, -0.5, 1, 1));
        return new Reproduction.ArmResult(name, "LONGPO", 0, steps, List.of(base, last), 3.0);
    }

    @Test
    void theStoreKeepsSamplesAndArmsSoARunResumes() throws Exception {
        ResultStore store = new ResultStore(dir);
        assertTrue(store.pipeline().isEmpty() && !store.hasSamples() && store.arm("longpo").isEmpty());
        Reproduction.Pipeline p = new Reproduction.Pipeline(10, 2, 2, 1, 0, 1e6, 1e6, 256, 1024, 5);
        store.saveSamples(List.of(sample("s1"), sample("s2")), p);
        Reproduction.Eval base = eval(0, 0.2, 0.1, 0.9);
        store.saveBase(base);
        Files.createDirectories(dir.resolve("arms"));
        store.saveArm(arm("longpo", base, eval(2, 0.9, 0.6, 0.9)));
        Reproduction.ArmResult opsd = new Reproduction.ArmResult("opsd", "OPSD", 0, List.of(new Reproduction.Step(1, 0.1,
                2.0, 0.3, Double.NaN, Double.NaN, Double.NaN, Double.NaN)), List.of(base), 1.0);
        store.saveArm(opsd);

        ResultStore again = new ResultStore(dir);
        assertEquals(List.of(sample("s1"), sample("s2")), again.samples(), "samples come back byte for byte");
        assertEquals(p, again.pipeline().orElseThrow());
        assertEquals(base, again.base().orElseThrow());
        assertEquals(arm("longpo", base, eval(2, 0.9, 0.6, 0.9)), again.arm("longpo").orElseThrow());
        assertEquals(opsd, again.arm("opsd").orElseThrow(), "metrics that do not apply (NaN) survive the round trip");
    }

    @Test
    void anArmThatLosesTheWindowHasNotKeptShortSkillsWhateverItsShortTasks() throws Exception {
        Reproduction.Eval base = eval(0, 0.2, 0.1, 0.90);
        Map<Integer, Double> avg = new LinkedHashMap<>(Map.of(256, 0.30, 1024, 0.9, 2048, 0.8));
        Reproduction.Eval lostWindow = new Reproduction.Eval(2, Map.of("niah_single", avg, "short_mc", Map.of(256, 0.9)),
                avg, 0.9, 256, 1.0);
        Reproduction.Result r = new Reproduction.Result(new Reproduction.Pipeline(10, 2, 8, 0, 0, 1e6, 1e6, 256, 1024, 5),
                base, List.of(arm("longpo", base, lostWindow)));
        String text = Files.readString(ReproductionReport.write(r, "setup", dir));
        assertTrue(text.contains("longpo: 0.850 (pi_S 0.150), short +0.00, window -0.70 (short skills lost)"), text);
        assertTrue(text.contains("No arm kept the short skills"), text);
    }

    @Test
    void theReportRanksArmsByTheirScoresBeyondTheWindowAndNamesWhoKeptShortSkills() throws Exception {
        Reproduction.Eval base = eval(0, 0.2, 0.1, 0.90);
        Reproduction.Result r = new Reproduction.Result(new Reproduction.Pipeline(10, 2, 8, 2, 0, 1e6, 1e6, 256, 1024, 5),
                base, List.of(arm("sft_rejected", base, eval(2, 0.3, 0.2, 0.91)), arm("longpo", base, eval(2, 0.9, 0.7, 0.89)),
                        arm("sft_chosen", base, eval(2, 0.95, 0.8, 0.70))));
        Path md = ReproductionReport.write(r, "setup text", dir);
        String text = Files.readString(md);
        assertTrue(text.contains("Degenerate turns") && text.contains("2 of 8 (25%)"), text);
        int sftChosen = text.indexOf("\n1. sft_chosen");
        int longpo = text.indexOf("\n2. longpo");
        int sftRejected = text.indexOf("\n3. sft_rejected");
        assertTrue(sftChosen >= 0 && sftChosen < longpo && longpo < sftRejected, "ranked by beyond-window mean: " + text);
        assertTrue(text.contains("sft_chosen: 0.875 (pi_S 0.150), short -0.20, window +0.00 (short skills lost)"), text);
        assertTrue(text.contains("sft_rejected: 0.250 (pi_S 0.150), short +0.01, window +0.00 (short skills kept)"), text);
        assertTrue(text.contains("Best long-context mean with short skills kept (short tasks and window within 0.03 of"
                + " pi_S): longpo."), text);
        for (String png : List.of("niah-target.png", "niah-longest.png", "short.png", "rewards.png", "accuracy.png")) {
            assertTrue(Files.size(dir.resolve(png)) > 1000, png);
        }
    }
}
