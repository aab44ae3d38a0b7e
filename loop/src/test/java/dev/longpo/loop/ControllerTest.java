package dev.longpo.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.DeadLetter;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.TrainingMetrics;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The controller over recorded event sequences. */
class ControllerTest {
    static LoopSettings settings(boolean best) {
        return settings(best, 0);
    }

    /** L_s 256 with iteration 1 at 8 x L_s, two iterations, budget 10, two samples per step, the NTK rule. */
    static LoopSettings.Builder base() {
        return LoopSettings.builder().setRunId("run").setShortWindow(256).optFirstStretch(8).optMaxIterations(2)
                .optSampleBudgets(List.of(10)).optSamplesPerStep(2).optMaxTurns(List.of(2))
                .setBase("pi_S", "file:///pis", 1e4, 32).optThetaRule(Controller.ThetaRule.NTK).optShortMargin(0.05)
                .optShortTasks(List.of("short_mc"));
    }

    static LoopSettings settings(boolean best, int patience) {
        return base().optPromoteBest(best).optPatience(patience).optStallMs(60_000).build();
    }

    static RunEvent ckpt(String version, int iteration, long step) {
        return new RunEvent.Announced(Checkpoint.newBuilder().setRunId("run").setModelVersion(version).setUri("file:///c/" + version)
                .setSha256("sha-" + version).setSizeBytes(1).setStep(step).setIteration(iteration).setTheta(1e5)
                .setMaxLength(8192).setCreatedAt(Instant.EPOCH).build());
    }

    static RunEvent eval(String version, String task, int length, double score) {
        return new RunEvent.Evaluated(EvalResult.newBuilder().setModelVersion(version).setIteration(0).setTask(task)
                .setLength(length).setScore(score).setN(10).setCreatedAt(Instant.EPOCH).build());
    }

    @Test
    void startsIterationOneAtEightTimesTheWindowWithTheNtkTheta() {
        Controller c = new Controller(settings(false));
        List<IterationEvent> d = c.start();
        assertEquals(1, d.size());
        IterationEvent e = d.get(0);
        assertEquals(IterationEventType.START, e.getType());
        assertEquals(2048, e.getTargetLength());
        assertEquals(512, e.getMinLength());
        assertEquals("pi_S", e.getModelVersion());
        assertEquals(1e4 * Math.pow(8, 32 / 30.0), e.getTheta1(), 1e-6);
        assertEquals(List.of(), c.start(), "started once");
    }

    @Test
    void thePapersRuleGrowsTheBaseTenfoldPerFourfoldLength() {
        assertEquals(1e4 * Math.pow(10, 1.5), Controller.ThetaRule.PAPER.theta(1e4, 256, 2048, 32), 1e-6, "8x: 10^1.5");
        assertEquals(1e6, Controller.ThetaRule.PAPER.theta(1e4, 256, 4096, 32), 1e-6, "16x: 100x");
        assertEquals(1e7, Controller.ThetaRule.PAPER.theta(1e6, 32768, 131072, 128), 1e-3, "the paper's 32K -> 128K");
        assertTrue(Controller.ThetaRule.PAPER.theta(1e4, 256, 2048, 32) > Controller.ThetaRule.NTK.theta(1e4, 256, 2048, 32));
    }

    @Test
    void promotesAfterTheBudgetAndStartsIterationTwoAtTwiceTheLength() {
        Controller c = new Controller(settings(false));
        c.start();
        c.on(eval("pi_S", "short_mc", 128, 0.90));
        assertEquals(List.of(), c.on(ckpt("run-step-4", 1, 4)), "8 samples < budget 10");
        c.on(eval("run-step-4", "short_mc", 128, 0.89));
        assertEquals(List.of(), c.on(ckpt("run-step-6", 1, 6)), "budget reached but not evaluated yet");
        c.on(eval("run-step-6", "niah_single", 2048, 0.4));
        List<IterationEvent> d = c.on(eval("run-step-6", "short_mc", 128, 0.88));
        assertEquals(List.of(IterationEventType.PROMOTE, IterationEventType.START), d.stream().map(IterationEvent::getType).toList());
        assertEquals("run-step-6", d.get(0).getModelVersion());
        IterationEvent next = d.get(1);
        assertEquals(2, next.getIteration());
        assertEquals(4096, next.getTargetLength());
        assertEquals(2048, next.getMinLength());
        assertEquals("file:///c/run-step-6", next.getCheckpointUri());
        assertEquals("sha-run-step-6", next.getCheckpointSha256());
        assertTrue(next.getTheta1() > d.get(0).getTheta1());
        assertEquals(1e4, next.getTheta0(), 1e-9, "short chunks stay within L_s and are read at pi_S's base");
    }

    @Test
    void eachIterationHasItsOwnBudgetCountedFromItsFirstStep() {
        Controller c = new Controller(base().optSampleBudgets(List.of(10, 4)).optMaxTurns(List.of(8, 2)).optStallMs(0)
                .build());
        c.start();
        c.on(eval("pi_S", "short_mc", 128, 0.5));
        c.on(ckpt("run-step-5", 1, 5));
        c.on(eval("run-step-5", "niah_single", 2048, 0.3));
        List<IterationEvent> d = c.on(eval("run-step-5", "short_mc", 128, 0.5));
        assertEquals(4, d.get(1).getSampleBudget(), "iteration 2 announces its own budget");
        assertEquals(8, c.decisions().get(0).getMaxTurns(), "and each iteration its own turns");
        assertEquals(2, d.get(1).getMaxTurns());
        assertEquals(List.of(), c.on(ckpt("run-step-6", 2, 6)), "2 samples of iteration 2 < its budget 4");
        c.on(eval("run-step-6", "niah_single", 4096, 0.2));
        assertEquals(List.of(), c.on(eval("run-step-6", "short_mc", 128, 0.5)));
        c.on(ckpt("run-step-7", 2, 7));
        c.on(eval("run-step-7", "niah_single", 4096, 0.2));
        d = c.on(eval("run-step-7", "short_mc", 128, 0.5));
        assertEquals(List.of(IterationEventType.PROMOTE, IterationEventType.STOP), d.stream().map(IterationEvent::getType).toList());
        assertEquals("run-step-7", d.get(0).getModelVersion());
        assertTrue(d.get(1).getReason().contains("maximum of 2 iterations"), d.get(1).getReason());
    }

    @Test
    void refusesACandidateThatLostShortSkillsAndSaysWhy() {
        Controller c = new Controller(settings(false));
        c.start();
        c.on(eval("pi_S", "short_mc", 128, 0.90));
        c.on(ckpt("run-step-5", 1, 5));
        c.on(eval("run-step-5", "niah_single", 2048, 0.9));
        List<IterationEvent> d = c.on(eval("run-step-5", "short_mc", 128, 0.70));
        assertEquals(List.of(IterationEventType.REJECT, IterationEventType.STOP), d.stream().map(IterationEvent::getType).toList());
        assertTrue(d.get(0).getReason().contains("0.700 is more than 0.050 below pi_S's 0.900"), d.get(0).getReason());
        assertTrue(c.stopped());
        assertEquals(List.of(), c.on(ckpt("run-step-9", 1, 9)), "nothing after a stop");
    }

    @Test
    void promoteBestPicksTheBestLongScoreAndTheLastIterationStops() {
        Controller c = new Controller(settings(true));
        c.start();
        c.on(eval("pi_S", "short_mc", 128, 0.9));
        c.on(ckpt("a", 1, 3));
        c.on(eval("a", "niah_single", 2048, 0.8));
        c.on(eval("a", "short_mc", 128, 0.9));
        c.on(ckpt("b", 1, 5));
        c.on(eval("b", "niah_single", 2048, 0.5));
        List<IterationEvent> d = c.on(eval("b", "short_mc", 128, 0.9));
        assertEquals("a", d.get(0).getModelVersion(), "best by long-context score");
        c.on(ckpt("c", 2, 10));
        c.on(eval("c", "niah_single", 4096, 0.7));
        List<IterationEvent> last = c.on(eval("c", "short_mc", 128, 0.9));
        assertEquals(List.of(IterationEventType.PROMOTE, IterationEventType.STOP), last.stream().map(IterationEvent::getType).toList());
        assertTrue(last.get(1).getReason().contains("maximum of 2 iterations"));
    }

    @Test
    void aRestartedControllerReplaysItsDecisionsAndGoesOn() {
        Controller first = new Controller(settings(false));
        List<IterationEvent> published = new ArrayList<>(first.start());
        List<RunEvent> inputs = List.of(eval("pi_S", "short_mc", 128, 0.9), ckpt("x", 1, 5),
                eval("x", "niah_single", 2048, 0.3), eval("x", "short_mc", 128, 0.9));
        for (RunEvent e : inputs) {
            published.addAll(first.on(e));
        }
        Controller second = new Controller(settings(false));
        second.restore(published);
        List<IterationEvent> replayed = new ArrayList<>();
        for (RunEvent e : inputs) {
            replayed.addAll(second.on(e));
        }
        assertEquals(List.of(), replayed, "decisions already published are not repeated");
        assertEquals(first.decisions(), second.decisions());
        assertEquals(List.of(), second.start());
        assertEquals(2, second.decisions().get(second.decisions().size() - 1).getIteration());
    }

    @Test
    void endsAnIterationEarlyWhenItsLongScoreStopsImproving() {
        Controller c = new Controller(settings(false, 2));
        c.start();
        c.on(eval("pi_S", "short_mc", 128, 0.5));
        c.on(eval("pi_S", "niah_single", 2048, 0.1));
        c.on(ckpt("s1", 1, 1));
        c.on(eval("s1", "niah_single", 2048, 0.3));
        assertEquals(List.of(), c.on(eval("s1", "short_mc", 128, 0.5)), "improved on pi_S");
        c.on(ckpt("s2", 1, 2));
        c.on(eval("s2", "niah_single", 2048, 0.3));
        assertEquals(List.of(), c.on(eval("s2", "short_mc", 128, 0.5)), "one checkpoint without improvement < patience 2");
        c.on(ckpt("s3", 1, 3));
        c.on(eval("s3", "niah_single", 2048, 0.2));
        List<IterationEvent> d = c.on(eval("s3", "short_mc", 128, 0.5));
        assertEquals(List.of(IterationEventType.PROMOTE, IterationEventType.START), d.stream().map(IterationEvent::getType).toList(),
                "6 samples < budget 10, but two evaluated checkpoints did not beat 0.300");
        assertEquals("s3", d.get(0).getModelVersion(), "the last checkpoint, as without loop.promote.best");
        assertTrue(d.get(0).getReason().contains("ended before its budget: 2 evaluated checkpoints without improving on 0.300 at 2048"),
                d.get(0).getReason());
    }

    @Test
    void patienceComparesWithTheStartingModelAndPromoteBestStillPicksTheBest() {
        Controller c = new Controller(settings(true, 2));
        c.start();
        c.on(eval("pi_S", "short_mc", 128, 0.5));
        c.on(ckpt("s1", 1, 1));
        c.on(eval("s1", "niah_single", 2048, 0.2));
        assertEquals(List.of(), c.on(eval("s1", "short_mc", 128, 0.5)));
        c.on(ckpt("s2", 1, 2));
        c.on(eval("s2", "niah_single", 2048, 0.1));
        assertEquals(List.of(), c.on(eval("s2", "short_mc", 128, 0.5)),
                "pi_S has no score at 2048 yet, so its two checkpoints have nothing to be compared with");
        List<IterationEvent> d = c.on(eval("pi_S", "niah_single", 2048, 0.2));
        assertEquals(IterationEventType.PROMOTE, d.get(0).getType(), "neither checkpoint beat pi_S's 0.200");
        assertEquals("s1", d.get(0).getModelVersion(), "the best of the iteration's checkpoints by long score");
    }

    static RunEvent metric(int iteration, long step) {
        return new RunEvent.Trained(TrainingMetrics.newBuilder().setRunId("run").setStep(step).setIteration(iteration).setModelVersion("p")
                .setObjective("LONGPO").setLoss(1).setNll(1).setPrefLoss(1).setRewardChosen(0).setRewardRejected(0)
                .setRewardAccuracy(0).setMargin(0).setLearningRate(1e-4).setGradNorm(1).setTokensPerSecond(1)
                .setCreatedAt(Instant.EPOCH).build());
    }

    @Test
    void aQuietIterationEndsWithItsLastEvaluatedCheckpoint() {
        Controller c = startedWithPiSScored();
        c.on(ckpt("s1", 1, 1));
        c.on(eval("s1", "niah_single", 2048, 0.3));
        c.on(eval("s1", "short_mc", 128, 0.5));
        assertEquals(List.of(), c.tick(50_000));
        assertEquals(List.of(), c.tick(109_000), "59 s since the first tick after s1's evaluation: not yet");
        c.on(metric(1, 2));
        assertEquals(List.of(), c.tick(120_000), "a trained sample of iteration 1 restarts the clock");
        assertEquals(List.of(), c.tick(170_000));
        List<IterationEvent> d = c.tick(180_000);
        assertEquals(List.of(IterationEventType.PROMOTE, IterationEventType.START), d.stream().map(IterationEvent::getType).toList(),
                "2 samples < budget 10, but nothing for 60 s");
        assertEquals("s1", d.get(0).getModelVersion());
        assertTrue(d.get(0).getReason().contains("ended before its budget: no stage of iteration 1 moved for 60 s"),
                d.get(0).getReason());
        assertEquals(List.of(), c.tick(200_000), "iteration 2's clock starts afresh");
        c.on(metric(1, 3));
        assertEquals(List.of(), c.tick(250_000), "a leftover sample of iteration 1 is not iteration 2's progress");
        d = c.tick(260_000);
        assertEquals(List.of(IterationEventType.STOP), d.stream().map(IterationEvent::getType).toList());
        assertTrue(d.get(0).getReason().contains("no stage of iteration 2 moved for 60 s (made so far: nothing before the"
                + " trainer, trainer steps 0, checkpoints 0; no dead letters) and none of it evaluated"), d.get(0).getReason());
        assertTrue(c.stopped());
    }

    /** A controller with the stall rule on, iteration 1 started, pi_S scored and the clock started at 1 s. */
    private static Controller startedWithPiSScored() {
        Controller c = new Controller(settings(false, 0));
        c.start();
        c.on(eval("pi_S", "short_mc", 128, 0.5));
        assertEquals(List.of(), c.tick(1_000), "the clock starts at the first tick");
        return c;
    }

    @Test
    void anotherRunsRecordsAreNotThisRunsProgress() {
        Controller c = startedWithPiSScored();
        List<IterationEvent> d = List.of();
        for (long t = 50_000; t <= 500_000 && d.isEmpty(); t += 50_000) {
            c.on(new RunEvent.Moved("instruction-requests", 1, "another-run"));
            d = c.tick(t);
        }
        assertEquals(List.of(IterationEventType.STOP), d.stream().map(IterationEvent::getType).toList(),
                "another run's instruction requests do not keep this run's iteration 1 going");
    }

    @Test
    void aSlowStageBeforeTheTrainerKeepsTheIterationAliveAndAStallNamesWhatEachStageMade() {
        Controller c = startedWithPiSScored();
        for (long t = 50_000; t <= 500_000; t += 50_000) {
            c.on(new RunEvent.Moved("instruction-requests", 1, ""));
            assertEquals(List.of(), c.tick(t), "an instruction request every 50 s keeps iteration 1 going at " + t);
        }
        c.on(new RunEvent.Moved("instructions", 1, ""));
        c.on(new RunEvent.Moved("preference-pairs", 2, ""));
        assertEquals(List.of(), c.tick(540_000));
        c.on(new RunEvent.DeadLettered(DeadLetter.newBuilder().setStage("response").setReason("prompt over the limit")
                .setSource("d1").setValue(ByteBuffer.allocate(0)).setCreatedAt(Instant.EPOCH).build()));
        assertEquals(List.of(), c.tick(590_000), "a dead letter is not progress, but 60 s have not passed");
        List<IterationEvent> d = c.tick(600_000);
        assertEquals(List.of(IterationEventType.STOP), d.stream().map(IterationEvent::getType).toList(),
                "a pair of another iteration is not iteration 1's progress");
        assertEquals("stopped: no stage of iteration 1 moved for 60 s (made so far: instruction-requests 10, instructions 1,"
                + " trainer steps 0, checkpoints 0; dead letters: response 1 (last: prompt over the limit)) and none of it"
                + " evaluated", d.get(0).getReason());
    }
}
