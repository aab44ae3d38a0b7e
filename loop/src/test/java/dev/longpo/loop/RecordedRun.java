package dev.longpo.loop;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.TrainingMetrics;
import java.time.Instant;
import java.util.List;

/**
 * A recorded run for tests of the run model and its renderings: an older run, then run "new" with
 * pi_S and one promoted checkpoint (step 8) evaluated at 256..2048 on niah_single and vt, a short
 * task, eight trainer steps, PROMOTE and STOP.
 */
public final class RecordedRun {
    private RecordedRun() {
    }

    public static IterationEvent decision(String run, IterationEventType type, int k, String version, double theta1) {
        return IterationEvent.newBuilder().setRunId(run).setIteration(k).setType(type).setModelVersion(version)
                .setShortWindow(256).setMinLength(512).setTargetLength(256 << (k + 2)).setTheta0(1e4).setTheta1(theta1)
                .setMaxTurns(2).setSampleBudget(8).setReason("r").setCreatedAt(Instant.EPOCH).build();
    }

    public static EvalResult eval(String version, String task, int length, Double depth, double score) {
        return EvalResult.newBuilder().setModelVersion(version).setIteration(0).setTask(task).setLength(length)
                .setDepth(depth).setScore(score).setN(4).setCreatedAt(Instant.EPOCH).build();
    }

    public static TrainingMetrics metrics(String run, long step, int iteration, double loss, double acc) {
        return TrainingMetrics.newBuilder().setRunId(run).setStep(step).setIteration(iteration).setModelVersion(run + "-" + step)
                .setObjective("LONGPO").setLoss(loss).setNll(loss / 2).setPrefLoss(0.6).setRewardChosen(0.1 * step)
                .setRewardRejected(-0.1 * step).setRewardAccuracy(acc).setMargin(0.2 * step).setLearningRate(1e-4)
                .setGradNorm(1).setTokensPerSecond(1000).setSampleIds(List.of("s" + step)).setCreatedAt(Instant.EPOCH).build();
    }

    public static Checkpoint ckpt(String run, String version, int iteration, long step) {
        return Checkpoint.newBuilder().setRunId(run).setModelVersion(version).setUri("file:///c").setSha256("s")
                .setSizeBytes(1).setStep(step).setIteration(iteration).setTheta(9e4).setMaxLength(8192)
                .setCreatedAt(Instant.EPOCH).build();
    }

    /** The run model of the recorded run (newest run followed, short task short_mc, threshold 0.5). */
    public static RunState state() {
        RunState s = new RunState(null, List.of("short_mc"), 0.5);
        s.accept(new RunEvent.Decided(decision("old", IterationEventType.START, 1, "pi_S", 9e4)));
        s.accept(new RunEvent.Decided(decision("new", IterationEventType.START, 1, "pi_S", 9e4)));
        s.accept(new RunEvent.Announced(ckpt("new", "pi_S", 0, 0)));
        for (int l : new int[] {256, 512, 1024, 2048}) {
            s.accept(new RunEvent.Evaluated(eval("pi_S", "niah_single", l, null, l <= 256 ? 1.0 : l == 512 ? 0.6 : 0.0)));
            s.accept(new RunEvent.Evaluated(eval("pi_S", "vt", l, null, 0.2)));
            s.accept(new RunEvent.Evaluated(eval("new-step-8", "niah_single", l, null, l <= 1024 ? 0.9 : 0.5)));
            s.accept(new RunEvent.Evaluated(eval("new-step-8", "vt", l, null, 0.4)));
            s.accept(new RunEvent.Evaluated(eval("new-step-8", "niah_single", l, 0.5, 0.75)));
        }
        s.accept(new RunEvent.Evaluated(eval("pi_S", "short_mc", 128, null, 0.40)));
        s.accept(new RunEvent.Evaluated(eval("new-step-8", "short_mc", 128, null, 0.35)));
        for (int step = 1; step <= 8; step++) {
            s.accept(new RunEvent.Trained(metrics("new", step, 1, 2.0 - 0.1 * step, step < 4 ? 0.0 : 1.0)));
        }
        s.accept(new RunEvent.Trained(metrics("old", 1, 1, 9.9, 0.0)));
        s.accept(new RunEvent.Announced(ckpt("new", "new-step-8", 1, 8)));
        s.accept(new RunEvent.Decided(decision("new", IterationEventType.PROMOTE, 1, "new-step-8", 9e4)));
        s.accept(new RunEvent.Decided(decision("new", IterationEventType.STOP, 1, "new-step-8", 9e4)));
        return s;
    }
}
