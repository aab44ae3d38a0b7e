package dev.longpo.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEventType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The one run model over a recorded run: what the controller, the monitor and the demo read. */
class RunStateTest {
    @Test
    void followsTheNewestRunAndKeepsOnlyItsDecisionsAndMetrics() {
        RunState s = RecordedRun.state();
        assertEquals("new", s.run());
        assertEquals(3, s.decisions().size());
        assertEquals(8, s.metrics().size());
        assertTrue(s.stopped());
        assertEquals(List.of("pi_S", "new-step-8"), s.promoted().stream().map(RunState.Row::version).toList());
        assertEquals(IterationEventType.START, s.current().orElseThrow().getType());
    }

    @Test
    void effectiveLengthIsTheLongestLengthUpToWhichTheMeanHoldsTheThreshold() {
        RunState s = RecordedRun.state();
        assertEquals(0.6, s.longMean("pi_S", 256), 1e-9);
        assertEquals(256, s.effectiveLength("pi_S"), "mean 0.4 at 512 is below 0.5");
        assertEquals(1024, s.effectiveLength("new-step-8"), "mean 0.45 at 2048 is below 0.5");
        assertEquals(0.35, s.shortScore("new-step-8"), 1e-9);
        assertEquals(0.35, s.taskScore("new-step-8", "short_mc"), 1e-9);
    }

    @Test
    void scoresAreKeyedByTaskLengthAndDepth() {
        RunState s = RecordedRun.state();
        assertEquals(0.9, s.score("new-step-8", EvalKey.of("niah_single", 1024)), 1e-9);
        assertEquals(0.75, s.score("new-step-8", new EvalKey("niah_single", 1024, 0.5)), 1e-9);
        assertTrue(Double.isNaN(s.score("new-step-8", EvalKey.of("niah_single", 4096))));
        assertEquals(Map.of(256, 0.75, 512, 0.75, 1024, 0.75, 2048, 0.75), s.heatmap("new-step-8").get(0.5));
        assertEquals(List.of("niah_single", "vt"), List.copyOf(s.longTasks("pi_S")));
        assertTrue(s.hasLongScore("pi_S", 2048));
    }

    @Test
    void aRunThatStoppedWithoutJudgingAnIterationIsToldApart() {
        assertTrue(RecordedRun.state().anyIterationJudged(), "the recorded run promoted iteration 1");
        RunState s = new RunState("quiet", List.of("short_mc"), 0.5);
        s.accept(new RunEvent.Decided(RecordedRun.decision("quiet", IterationEventType.START, 1, "pi_S", 9e4)));
        assertFalse(s.stopped());
        assertTrue(s.stopReason().isEmpty());
        s.accept(new RunEvent.Decided(RecordedRun.decision("quiet", IterationEventType.STOP, 1, "pi_S", 9e4)));
        assertTrue(s.stopped());
        assertFalse(s.anyIterationJudged(), "a STOP alone judged nothing");
        assertTrue(s.stopReason().isPresent());
    }

    @Test
    void twoRunsThatBothCallTheirBaseModelPiSKeepTheirOwnCheckpointScoresAndPipelineCounts() {
        RunState a = new RunState("a", List.of("short_mc"), 0.5);
        RunState b = new RunState("b", List.of("short_mc"), 0.5);
        for (RunState s : List.of(a, b)) {
            s.accept(new RunEvent.Announced(RecordedRun.ckpt("a", "pi_S", 0, 0)));
            s.accept(new RunEvent.Announced(RecordedRun.ckpt("b", "pi_S", 0, 0)));
            s.accept(new RunEvent.Evaluated(EvalResult.newBuilder(RecordedRun.eval("pi_S", "short_mc", 128, null, 0.9))
                    .setRunId("a").build()));
            s.accept(new RunEvent.Evaluated(EvalResult.newBuilder(RecordedRun.eval("pi_S", "short_mc", 128, null, 0.2))
                    .setRunId("b").build()));
            s.accept(new RunEvent.Moved("instructions", 1, "a"));
            s.accept(new RunEvent.Moved("instructions", 1, ""));
        }
        assertEquals(0.9, a.shortScore("pi_S"), 1e-9);
        assertEquals(0.2, b.shortScore("pi_S"), 1e-9);
        assertEquals("a", a.checkpoint("pi_S").orElseThrow().getRunId());
        assertEquals("b", b.checkpoint("pi_S").orElseThrow().getRunId());
        assertEquals(Map.of("instructions", 2L), a.pipeline(1), "its own and an unscoped record");
        assertEquals(Map.of("instructions", 1L), b.pipeline(1), "the unscoped one only");
        RunState c = new RunState("c", List.of("short_mc"), 0.5);
        c.accept(new RunEvent.Evaluated(RecordedRun.eval("pi_S", "short_mc", 128, null, 0.5)));
        assertEquals(0.5, c.shortScore("pi_S"), 1e-9, "an unscoped score (longpo eval) counts for any run");
    }

    @Test
    void aDecisionReadBackFromTheTopicIsNotCountedTwice() {
        RunState s = RecordedRun.state();
        s.accept(new RunEvent.Decided(RecordedRun.decision("new", IterationEventType.STOP, 1, "new-step-8", 9e4)));
        assertEquals(3, s.decisions().size());
    }
}
