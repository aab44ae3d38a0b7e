package dev.longpo.cli;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.events.Topic;
import dev.longpo.events.Topics;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.avro.specific.SpecificRecord;

/**
 * What the event topics say about a self-evolution run: the controller's decisions, the announced
 * checkpoints, the trainer's per-step metrics and the evaluation results. It is the model behind
 * {@code longpo monitor} and the demo's progress line and final before/after table, so both show
 * exactly what a topic consumer sees. With no fixed run it follows the newest run on
 * {@code iterations}.
 */
final class LoopState {
    /** The topics a run's view is built from. */
    static final List<Topic<? extends SpecificRecord>> TOPICS = List.of(Topics.ITERATIONS, Topics.CHECKPOINTS,
            Topics.TRAINING_METRICS, Topics.EVAL_RESULTS);

    /** The models of a before/after table: pi_S, then the model each iteration promoted. */
    record Row(String label, String version, int iteration, double theta) {
    }

    private final String fixedRun;
    private final String shortTask;
    private final double threshold;
    private String run;
    private final List<IterationEvent> decisions = new ArrayList<>();
    private final Map<String, Checkpoint> checkpoints = new LinkedHashMap<>();
    private final List<TrainingMetrics> metrics = new ArrayList<>();
    /** model version -> "task@length" or "task@length@depth" -> result. */
    private final Map<String, Map<String, EvalResult>> evals = new LinkedHashMap<>();

    LoopState(String run, String shortTask, double threshold) {
        this.fixedRun = run;
        this.run = run;
        this.shortTask = shortTask;
        this.threshold = threshold;
    }

    /** Takes one event of {@code iterations}, {@code checkpoints}, {@code training-metrics} or {@code eval-results}. */
    void accept(SpecificRecord event) {
        if (event instanceof IterationEvent e) {
            if (fixedRun == null && (run == null || !run.equals(e.getRunId()))
                    && e.getType() == IterationEventType.START && e.getIteration() == 1) {
                run = e.getRunId(); // a newer run started: follow it
            }
            decisions.add(e);
        } else if (event instanceof Checkpoint c) {
            checkpoints.put(c.getModelVersion(), c);
        } else if (event instanceof TrainingMetrics m) {
            metrics.add(m);
        } else if (event instanceof EvalResult r) {
            String key = r.getTask() + "@" + r.getLength() + (r.getDepth() == null ? "" : "@" + r.getDepth());
            evals.computeIfAbsent(r.getModelVersion(), v -> new LinkedHashMap<>()).put(key, r);
        }
    }

    String run() {
        return run;
    }

    List<IterationEvent> decisions() {
        return decisions.stream().filter(e -> e.getRunId().equals(run)).toList();
    }

    List<TrainingMetrics> metrics() {
        return metrics.stream().filter(m -> m.getRunId().equals(run)).toList();
    }

    /** Checkpoints of the run (and its base model, announced as step 0), in announcement order. */
    List<Checkpoint> checkpoints() {
        return checkpoints.values().stream().filter(c -> c.getRunId().equals(run)).toList();
    }

    boolean stopped() {
        return decisions().stream().anyMatch(e -> e.getType() == IterationEventType.STOP);
    }

    Optional<IterationEvent> current() {
        List<IterationEvent> d = decisions();
        for (int i = d.size() - 1; i >= 0; i--) {
            if (d.get(i).getType() == IterationEventType.START) {
                return Optional.of(d.get(i));
            }
        }
        return Optional.empty();
    }

    /** Mean score of a task at a length over all depths; NaN if not evaluated. */
    double score(String version, String task, int length) {
        EvalResult r = evals.getOrDefault(version, Map.of()).get(task + "@" + length);
        return r == null ? Double.NaN : r.getScore();
    }

    /** The short task's score (it has one length of its own). */
    double shortScore(String version) {
        return evals.getOrDefault(version, Map.of()).values().stream()
                .filter(r -> r.getTask().equals(shortTask) && r.getDepth() == null)
                .mapToDouble(EvalResult::getScore).findFirst().orElse(Double.NaN);
    }

    /** Long tasks evaluated for a model, in first-seen order. */
    Set<String> longTasks(String version) {
        Set<String> tasks = new java.util.LinkedHashSet<>();
        evals.getOrDefault(version, Map.of()).values().stream().filter(r -> !r.getTask().equals(shortTask))
                .forEach(r -> tasks.add(r.getTask()));
        return tasks;
    }

    /** Lengths a model was evaluated at (long tasks). */
    TreeSet<Integer> lengths(String version) {
        TreeSet<Integer> out = new TreeSet<>();
        evals.getOrDefault(version, Map.of()).values().stream().filter(r -> !r.getTask().equals(shortTask))
                .forEach(r -> out.add(r.getLength()));
        return out;
    }

    /** Mean over the long tasks at one length. */
    double longMean(String version, int length) {
        return longTasks(version).stream().mapToDouble(t -> score(version, t, length)).filter(v -> !Double.isNaN(v))
                .average().orElse(Double.NaN);
    }

    /** The longest evaluated length up to which the long-task mean stays at or above the threshold (0 if none). */
    int effectiveLength(String version) {
        int eff = 0;
        for (int l : lengths(version)) {
            if (longMean(version, l) >= threshold) {
                eff = l;
            } else {
                break;
            }
        }
        return eff;
    }

    boolean evaluated(String version) {
        return evals.containsKey(version);
    }

    /** Depth -> length -> single-needle score of one model (the heatmap). */
    Map<Double, Map<Integer, Double>> heatmap(String version) {
        Map<Double, Map<Integer, Double>> out = new TreeMap<>();
        evals.getOrDefault(version, Map.of()).values().stream()
                .filter(r -> r.getTask().equals("niah_single") && r.getDepth() != null)
                .forEach(r -> out.computeIfAbsent(r.getDepth(), d -> new TreeMap<>()).put(r.getLength(), r.getScore()));
        return out;
    }

    /** pi_S, then every model the run promoted; each with the iteration it came from and its RoPE base. */
    List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        decisions().stream().filter(e -> e.getType() == IterationEventType.START && e.getIteration() == 1).findFirst()
                .ifPresent(e -> rows.add(new Row(e.getModelVersion() + " (base)", e.getModelVersion(), 0, e.getTheta0())));
        for (IterationEvent e : decisions()) {
            if (e.getType() == IterationEventType.PROMOTE) {
                rows.add(new Row("iteration " + e.getIteration(), e.getModelVersion(), e.getIteration(), e.getTheta1()));
            }
        }
        return rows;
    }

    /** One line: iteration, target, trainer step, recent loss, reward accuracy and margin, evaluations so far. */
    String statusLine() {
        StringBuilder sb = new StringBuilder();
        Optional<IterationEvent> cur = current();
        if (cur.isEmpty()) {
            return "waiting for the controller to start iteration 1";
        }
        IterationEvent it = cur.get();
        sb.append(String.format(Locale.ROOT, "iteration %d (target %d tokens, theta %.0f)", it.getIteration(),
                it.getTargetLength(), it.getTheta1()));
        List<TrainingMetrics> ms = metrics();
        if (ms.isEmpty()) {
            sb.append(" | trainer: waiting for samples");
        } else {
            List<TrainingMetrics> recent = ms.subList(Math.max(0, ms.size() - 10), ms.size());
            sb.append(String.format(Locale.ROOT, " | step %d, loss %.3f, reward acc %.2f, margin %.2f (last %d steps)",
                    ms.get(ms.size() - 1).getStep(), recent.stream().mapToDouble(TrainingMetrics::getLoss).average().orElse(0),
                    recent.stream().mapToDouble(TrainingMetrics::getRewardAccuracy).average().orElse(0),
                    recent.stream().mapToDouble(TrainingMetrics::getMargin).average().orElse(0), recent.size()));
        }
        long evaluated = checkpoints().stream().filter(c -> evaluated(c.getModelVersion())).count();
        sb.append(String.format(Locale.ROOT, " | evaluated %d of %d checkpoints", evaluated, checkpoints().size()));
        return sb.toString();
    }

    /** The live view: run, decisions, training trend and the latest evaluation per length. */
    String view() {
        StringBuilder sb = new StringBuilder();
        sb.append("run ").append(run == null ? "(none yet)" : run).append('\n');
        sb.append(statusLine()).append("\n\ndecisions:\n");
        for (IterationEvent e : decisions()) {
            sb.append(String.format(Locale.ROOT, "  %-8s iteration %d  %-24s %s%n", e.getType(), e.getIteration(),
                    e.getModelVersion(), e.getReason()));
        }
        List<TrainingMetrics> ms = metrics();
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
        List<String> versions = checkpoints().stream().map(Checkpoint::getModelVersion).filter(this::evaluated).toList();
        if (!versions.isEmpty()) {
            sb.append('\n').append(table(versions.stream().map(v -> new Row(v, v, checkpoints.get(v).getIteration(),
                    checkpoints.get(v).getTheta())).toList()));
        }
        return sb.toString();
    }

    /**
     * The before/after table: per length, the mean of the long tasks, then the short task and the
     * effective length, one row per model; then one block per long task.
     */
    String table(List<Row> rows) {
        List<Row> shown = rows.stream().filter(r -> evaluated(r.version())).toList();
        if (shown.isEmpty()) {
            return "no evaluation results yet\n";
        }
        TreeSet<Integer> lengths = new TreeSet<>();
        Set<String> tasks = new java.util.LinkedHashSet<>();
        shown.forEach(r -> {
            lengths.addAll(lengths(r.version()));
            tasks.addAll(longTasks(r.version()));
        });
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "long-context score (mean of %s) by context length; %s; effective length = "
                + "longest length with mean >= %.2f%n", String.join(", ", tasks), shortTask, threshold));
        sb.append(header("model", lengths)).append(String.format(Locale.ROOT, "%8s %9s%n", shortTask.length() > 8
                ? "short" : shortTask, "eff.len"));
        for (Row r : shown) {
            sb.append(rowLabel(r));
            lengths.forEach(l -> sb.append(cell(longMean(r.version(), l))));
            sb.append(cell(shortScore(r.version()))).append(String.format(Locale.ROOT, " %9d%n", effectiveLength(r.version())));
        }
        for (String task : tasks) {
            sb.append('\n').append(header(task, lengths)).append('\n');
            for (Row r : shown) {
                sb.append(rowLabel(r));
                lengths.forEach(l -> sb.append(cell(score(r.version(), task, l))));
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

    private String rowLabel(Row r) {
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
