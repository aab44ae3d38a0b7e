package dev.longpo.cli;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.loop.EvalKey;
import dev.longpo.loop.RunState;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A run as text, for {@code longpo monitor}, the demo's progress line and its before/after table: a
 * rendering of the loop's {@link RunState} and nothing else, so what is shown is what a topic consumer
 * sees.
 */
final class RunView {
    private final RunState state;

    RunView(RunState state) {
        this.state = state;
    }

    RunState state() {
        return state;
    }

    /** One line: iteration, target, trainer step, recent loss, reward accuracy and margin, evaluations so far. */
    String statusLine() {
        StringBuilder sb = new StringBuilder();
        Optional<IterationEvent> cur = state.current();
        if (cur.isEmpty()) {
            return "waiting for the controller to start iteration 1";
        }
        IterationEvent it = cur.get();
        sb.append(String.format(Locale.ROOT, "iteration %d (target %d tokens, theta %.0f)", it.getIteration(),
                it.getTargetLength(), it.getTheta1()));
        List<TrainingMetrics> ms = state.metrics();
        if (ms.isEmpty()) {
            sb.append(" | trainer: waiting for samples");
        } else {
            List<TrainingMetrics> recent = ms.subList(Math.max(0, ms.size() - 10), ms.size());
            sb.append(String.format(Locale.ROOT, " | step %d, loss %.3f, reward acc %.2f, margin %.2f (last %d steps)",
                    ms.get(ms.size() - 1).getStep(), recent.stream().mapToDouble(TrainingMetrics::getLoss).average().orElse(0),
                    recent.stream().mapToDouble(TrainingMetrics::getRewardAccuracy).average().orElse(0),
                    recent.stream().mapToDouble(TrainingMetrics::getMargin).average().orElse(0), recent.size()));
        }
        long evaluated = state.checkpoints().stream().filter(c -> state.evaluated(c.getModelVersion())).count();
        sb.append(String.format(Locale.ROOT, " | evaluated %d of %d checkpoints", evaluated, state.checkpoints().size()));
        return sb.toString();
    }

    /** The live view: run, decisions, training trend and the latest evaluation per length. */
    String view() {
        StringBuilder sb = new StringBuilder();
        sb.append("run ").append(state.run() == null ? "(none yet)" : state.run()).append('\n');
        sb.append(statusLine()).append("\n\ndecisions:\n");
        for (IterationEvent e : state.decisions()) {
            sb.append(String.format(Locale.ROOT, "  %-8s iteration %d  %-24s %s%n", e.getType(), e.getIteration(),
                    e.getModelVersion(), e.getReason()));
        }
        List<TrainingMetrics> ms = state.metrics();
        if (!ms.isEmpty()) {
            sb.append("\ntraining (mean per block of steps):\n  steps        loss     nll  pref    acc  margin  r_chosen r_rejected  tok/s\n");
            int block = Math.max(1, (ms.size() + 7) / 8);
            for (int i = 0; i < ms.size(); i += block) {
                List<TrainingMetrics> b = ms.subList(i, Math.min(ms.size(), i + block));
                sb.append(String.format(Locale.ROOT, "  %5d-%-5d %7.3f %7.3f %5.3f %6.2f %7.3f %9.3f %10.3f %6.0f%n",
                        b.get(0).getStep(), b.get(b.size() - 1).getStep(), mean(b, TrainingMetrics::getLoss),
                        mean(b, TrainingMetrics::getNll), mean(b, TrainingMetrics::getPrefLoss),
                        mean(b, TrainingMetrics::getRewardAccuracy), mean(b, TrainingMetrics::getMargin),
                        mean(b, TrainingMetrics::getRewardChosen), mean(b, TrainingMetrics::getRewardRejected),
                        mean(b, TrainingMetrics::getTokensPerSecond)));
            }
        }
        List<RunState.Row> evaluated = state.checkpoints().stream().filter(c -> state.evaluated(c.getModelVersion()))
                .map(c -> new RunState.Row(c.getModelVersion(), c.getModelVersion(), c.getIteration(), c.getTheta())).toList();
        if (!evaluated.isEmpty()) {
            sb.append('\n').append(table(evaluated));
        }
        return sb.toString();
    }

    /**
     * The before/after table: per length, the mean of the long tasks, then the short task and the
     * effective length, one row per model; then one block per long task.
     */
    String table(List<RunState.Row> rows) {
        List<RunState.Row> shown = rows.stream().filter(r -> state.evaluated(r.version())).toList();
        if (shown.isEmpty()) {
            return "no evaluation results yet\n";
        }
        TreeSet<Integer> lengths = new TreeSet<>();
        Set<String> tasks = new LinkedHashSet<>();
        Set<String> shortTasks = new LinkedHashSet<>();
        shown.forEach(r -> {
            lengths.addAll(state.lengths(r.version()));
            tasks.addAll(state.longTasks(r.version()));
            shortTasks.addAll(state.shortTasks(r.version()));
        });
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "long-context score (mean of %s) by context length; short = mean of %s;"
                + " effective length = longest length with mean >= %.2f%n", String.join(", ", tasks),
                String.join(", ", shortTasks), state.threshold()));
        sb.append(header("model", lengths)).append(String.format(Locale.ROOT, "%8s %9s%n", "short", "eff.len"));
        for (RunState.Row r : shown) {
            sb.append(rowLabel(r));
            lengths.forEach(l -> sb.append(cell(state.longMean(r.version(), l))));
            sb.append(cell(state.shortScore(r.version())))
                    .append(String.format(Locale.ROOT, " %9d%n", state.effectiveLength(r.version())));
        }
        for (String task : tasks) {
            sb.append('\n').append(header(task, lengths)).append('\n');
            for (RunState.Row r : shown) {
                sb.append(rowLabel(r));
                lengths.forEach(l -> sb.append(cell(state.score(r.version(), EvalKey.of(task, l)))));
                sb.append('\n');
            }
        }
        if (!shortTasks.isEmpty()) {
            sb.append('\n').append(String.format(Locale.ROOT, "%-40s", "short tasks"));
            shortTasks.forEach(t -> sb.append(String.format(Locale.ROOT, "%12s", t)));
            sb.append('\n');
            for (RunState.Row r : shown) {
                sb.append(rowLabel(r));
                for (String t : shortTasks) {
                    double v = state.taskScore(r.version(), t);
                    sb.append(String.format(Locale.ROOT, "%12s", Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v)));
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    private static String header(String first, Set<Integer> lengths) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-40s", first));
        lengths.forEach(l -> sb.append(String.format(Locale.ROOT, "%8d", l)));
        return sb.toString();
    }

    private String rowLabel(RunState.Row r) {
        String run = state.run();
        String version = run != null && r.version().startsWith(run + "-") ? r.version().substring(run.length() + 1)
                : r.version();
        String label = r.label().equals(r.version()) ? version : r.label() + ": " + version;
        return String.format(Locale.ROOT, "  %-38s", label.length() > 38 ? label.substring(0, 38) : label);
    }

    private static String cell(double v) {
        return Double.isNaN(v) ? "       -" : String.format(Locale.ROOT, "%8.2f", v);
    }

    private static double mean(List<TrainingMetrics> ms, java.util.function.ToDoubleFunction<TrainingMetrics> f) {
        return ms.stream().mapToDouble(f).average().orElse(Double.NaN);
    }
}
