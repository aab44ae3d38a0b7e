package dev.longpo.loop;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.common.LongpoConfig;
import dev.longpo.events.RunScope;
import dev.longpo.tasks.Scores;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The one read model of a self-evolution run: a fold over its decisions, announced checkpoints,
 * trainer steps and evaluation results ({@link RunEvent}). The controller decides on it, and the
 * monitor and the demo render it, so all three see a run exactly as a topic consumer does. With no
 * fixed run id it follows the newest run: a START of iteration 1 of another run switches to it.
 *
 * <p>Evaluation results carry no run id (they are keyed by model version); the scores of any version
 * are kept, and the queries take the version they are about.
 */
public final class RunState {
    /** A model of the before/after table: the base model, then each promoted one. */
    public record Row(String label, String version, int iteration, double theta) {
    }

    private final String fixedRun;
    private final Set<String> shortTasks;
    private final double threshold;
    private String run;
    private final List<IterationEvent> decisions = new ArrayList<>();
    private final Map<String, Checkpoint> checkpoints = new LinkedHashMap<>();
    private final List<TrainingMetrics> metrics = new ArrayList<>();
    private final Map<String, Map<EvalKey, EvalResult>> evals = new LinkedHashMap<>();
    private final Map<Integer, Map<String, Long>> pipeline = new TreeMap<>();
    private final Map<String, Long> deadLetters = new LinkedHashMap<>();
    private final Map<String, String> lastDeadLetter = new LinkedHashMap<>();

    /**
     * @param run the run to follow, or null for the newest
     * @param shortTasks the short-only tasks (their score is the promotion gate's; they are not long-context)
     * @param threshold the long-task mean that counts for the effective length
     */
    public RunState(String run, Collection<String> shortTasks, double threshold) {
        this.fixedRun = run;
        this.run = run;
        this.shortTasks = Set.copyOf(shortTasks);
        this.threshold = threshold;
    }

    /** The run model of run {@code run} (null: the newest) with the configured short tasks and threshold. */
    public static RunState of(LongpoConfig c, String run) {
        return new RunState(run, List.of(c.get("loop.short.tasks").split(",")), c.getDouble("eval.threshold"));
    }

    /** Takes one event; a decision already taken (read back from the topic) is not added twice. */
    public void accept(RunEvent event) {
        if (event instanceof RunEvent.Decided d) {
            IterationEvent e = d.event();
            if (fixedRun == null && !e.getRunId().equals(run) && e.getType() == IterationEventType.START
                    && e.getIteration() == 1) {
                run = e.getRunId();
            }
            if (!decisions.contains(e)) {
                decisions.add(e);
            }
        } else if (event instanceof RunEvent.Announced a) {
            checkpoints.put(scoped(a.checkpoint().getRunId(), a.checkpoint().getModelVersion()), a.checkpoint());
        } else if (event instanceof RunEvent.Trained t) {
            metrics.add(t.metrics());
        } else if (event instanceof RunEvent.Evaluated v) {
            evals.computeIfAbsent(scoped(v.result().getRunId(), v.result().getModelVersion()), x -> new LinkedHashMap<>())
                    .put(EvalKey.of(v.result()), v.result());
        } else if (event instanceof RunEvent.Moved mv && RunScope.takes(run, mv.run())) {
            pipeline.computeIfAbsent(mv.iteration(), x -> new LinkedHashMap<>()).merge(mv.stage(), 1L, Long::sum);
        } else if (event instanceof RunEvent.DeadLettered d) {
            deadLetters.merge(d.letter().getStage(), 1L, Long::sum);
            lastDeadLetter.put(d.letter().getStage(), d.letter().getReason());
        }
    }

    /** Records per stage before the trainer for iteration {@code k} (topic name to count), in arrival order. */
    public Map<String, Long> pipeline(int k) {
        return Collections.unmodifiableMap(pipeline.getOrDefault(k, Map.of()));
    }

    /** Dead letters seen, per stage that wrote them. */
    public Map<String, Long> deadLetters() {
        return Collections.unmodifiableMap(deadLetters);
    }

    /** The reason of the last dead letter of {@code stage}, or null. */
    public String lastDeadLetter(String stage) {
        return lastDeadLetter.get(stage);
    }

    /** The run followed (null until one is seen). */
    public String run() {
        return run;
    }

    public double threshold() {
        return threshold;
    }

    public boolean isShort(String task) {
        return shortTasks.contains(task);
    }

    /** The run's decisions, in order. */
    public List<IterationEvent> decisions() {
        return decisions.stream().filter(e -> e.getRunId().equals(run)).toList();
    }

    /** The latest START: the iteration under way (or the last one, once stopped). */
    public Optional<IterationEvent> current() {
        List<IterationEvent> d = decisions();
        for (int i = d.size() - 1; i >= 0; i--) {
            if (d.get(i).getType() == IterationEventType.START) {
                return Optional.of(d.get(i));
            }
        }
        return Optional.empty();
    }

    /** The reason of the run's STOP, if it stopped. */
    public Optional<String> stopReason() {
        return decisions().stream().filter(e -> e.getType() == IterationEventType.STOP).findFirst()
                .map(IterationEvent::getReason);
    }

    /** True once an iteration was judged on its evaluations (PROMOTE or REJECT): what a run is for. */
    public boolean anyIterationJudged() {
        return decisions().stream().anyMatch(e -> e.getType() == IterationEventType.PROMOTE
                || e.getType() == IterationEventType.REJECT);
    }

    /** True once the run's controller decided STOP. */
    public boolean stopped() {
        return decisions().stream().anyMatch(e -> e.getType() == IterationEventType.STOP);
    }

    /** The run's trainer steps, in order. */
    public List<TrainingMetrics> metrics() {
        return metrics.stream().filter(m -> m.getRunId().equals(run)).toList();
    }

    /** The run's checkpoints (its base model announced as step 0 included), in announcement order. */
    public List<Checkpoint> checkpoints() {
        return checkpoints.values().stream().filter(c -> c.getRunId().equals(run)).toList();
    }

    /** The run's checkpoints of iteration {@code k}, by step. */
    public List<Checkpoint> checkpoints(int k) {
        return checkpoints().stream().filter(c -> c.getIteration() == k)
                .sorted(java.util.Comparator.comparingLong(Checkpoint::getStep)).toList();
    }

    /** The run's checkpoint named {@code version} (any run's while none is followed yet). */
    public Optional<Checkpoint> checkpoint(String version) {
        if (run == null) {
            return checkpoints.values().stream().filter(c -> c.getModelVersion().equals(version)).findFirst();
        }
        return Optional.ofNullable(checkpoints.get(scoped(run, version)));
    }

    /**
     * Versions are named per run, but two runs may both call their base model {@code pi_S}: checkpoints and
     * scores are kept per run and version.
     */
    private static String scoped(String run, String version) {
        return run + "\n" + version;
    }

    /** The run's scores of {@code version}, or the unscoped ones ({@code longpo eval}'s) when it has none. */
    private Map<EvalKey, EvalResult> evalsOf(String version) {
        Map<EvalKey, EvalResult> ours = run == null ? null : evals.get(scoped(run, version));
        return ours != null ? ours : evals.getOrDefault(scoped("", version), Map.of());
    }

    /** Trainer steps of the run before iteration {@code k}: the step its checkpoints count from. */
    public long firstStep(int k) {
        return checkpoints().stream().filter(c -> c.getIteration() < k).mapToLong(Checkpoint::getStep).max().orElse(0);
    }

    /** True once any score of {@code version} arrived. */
    public boolean evaluated(String version) {
        return !evalsOf(version).isEmpty();
    }

    /** One score; NaN if it has not arrived. */
    public double score(String version, EvalKey key) {
        EvalResult r = evalsOf(version).get(key);
        return r == null ? Double.NaN : r.getScore();
    }

    /** Mean of the short tasks' scores (each over all depths); NaN if none arrived. */
    public double shortScore(String version) {
        return overall(version).filter(r -> isShort(r.getTask())).mapToDouble(EvalResult::getScore).average()
                .orElse(Double.NaN);
    }

    /** One task's score over all its lengths and depths (a short task has a single one); NaN if none. */
    public double taskScore(String version, String task) {
        return overall(version).filter(r -> r.getTask().equals(task)).mapToDouble(EvalResult::getScore).average()
                .orElse(Double.NaN);
    }

    /** Short tasks scored for {@code version}, in arrival order. */
    public Set<String> shortTasks(String version) {
        Set<String> out = new LinkedHashSet<>();
        overall(version).filter(r -> isShort(r.getTask())).forEach(r -> out.add(r.getTask()));
        return out;
    }

    /** Long-context tasks scored for {@code version}, in arrival order. */
    public Set<String> longTasks(String version) {
        Set<String> out = new LinkedHashSet<>();
        overall(version).filter(r -> !isShort(r.getTask())).forEach(r -> out.add(r.getTask()));
        return out;
    }

    /** Lengths at which a long task was scored for {@code version}. */
    public TreeSet<Integer> lengths(String version) {
        TreeSet<Integer> out = new TreeSet<>();
        overall(version).filter(r -> !isShort(r.getTask())).forEach(r -> out.add(r.getLength()));
        return out;
    }

    /** True once a long task was scored for {@code version} at {@code length}. */
    public boolean hasLongScore(String version, int length) {
        return overall(version).anyMatch(r -> !isShort(r.getTask()) && r.getLength() == length);
    }

    /** Mean over the long tasks scored at {@code length}; NaN if none. */
    public double longMean(String version, int length) {
        return overall(version).filter(r -> !isShort(r.getTask()) && r.getLength() == length)
                .mapToDouble(EvalResult::getScore).average().orElse(Double.NaN);
    }

    /** The effective length of {@code version} ({@link Scores#effectiveLength}). */
    public int effectiveLength(String version) {
        SortedMap<Integer, Double> means = new TreeMap<>();
        lengths(version).forEach(l -> means.put(l, longMean(version, l)));
        return Scores.effectiveLength(means, threshold);
    }

    /** Depth -> length -> single-needle score of {@code version} (the heatmap). */
    public Map<Double, Map<Integer, Double>> heatmap(String version) {
        Map<Double, Map<Integer, Double>> out = new TreeMap<>();
        evalsOf(version).values().stream()
                .filter(r -> r.getTask().equals("niah_single") && r.getDepth() != null)
                .forEach(r -> out.computeIfAbsent(r.getDepth(), d -> new TreeMap<>()).put(r.getLength(), r.getScore()));
        return out;
    }

    /** The base model, then every model the run promoted, each with its iteration and RoPE base. */
    public List<Row> promoted() {
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

    private java.util.stream.Stream<EvalResult> overall(String version) {
        return evalsOf(version).values().stream().filter(r -> r.getDepth() == null);
    }
}
