package dev.longpo.loop;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.EvalResult;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.avro.TrainingMetrics;
import dev.longpo.common.LongpoConfig;
import dev.longpo.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The self-evolution controller as a deterministic state machine over events: it reads its own past
 * decisions ({@code iterations}), checkpoints, evaluation results and training metrics, and returns the decisions to
 * publish. Because all of its state is rebuilt from those topics, a restarted controller replays them
 * and goes on where it stopped.
 *
 * <p>Iteration k (from 1) trains at target length {@code 2^(k+2) x L_s} (8 L_s, then 16 L_s, ...) with
 * the RoPE base from {@code loop.theta.rule} ({@link ThetaRule}). It ends at the first of:
 * <ul>
 *   <li>the trainer has applied its sample budget and a checkpoint covering them is evaluated;</li>
 *   <li>evaluation stopped improving: the long-context score at the target length of its last
 *       {@code patience} evaluated checkpoints is no better than the best before them (its starting
 *       model included; 0 turns this off);</li>
 *   <li>it went quiet: nothing of it trained, checkpointed or evaluated for {@code stallMs} (say, its
 *       generator wrote no instruction and every request went to the dead-letter topic); then its last
 *       evaluated checkpoint is the candidate, and without one the run stops and says why.</li>
 * </ul>
 * The candidate (the last, or the best by long-context score) is promoted, to become iteration k+1's
 * generator, initial policy and frozen reference, unless its short-context score falls more than
 * {@code shortMargin} below pi_S's, in which case a REJECT event says why and the run stops.
 */
public final class Controller {
    /**
     * Controller settings; {@code sampleBudgets} and {@code maxTurns} hold iteration k's value at index
     * k-1 (the last entry serves every later iteration), since a sample at 16 L_s costs several times
     * one at 8 L_s.
     */
    public record Settings(String runId, int shortWindow, int maxIterations, List<Integer> sampleBudgets, int samplesPerStep,
                           List<Integer> maxTurns,
                           double theta0, int headDim, ThetaRule thetaRule, double shortMargin, boolean promoteBest,
                           int patience, long stallMs,
                           String shortTask,
                           String baseVersion, String baseUri) {
        /** {@code loop.sample.budget}: iteration k's budget at index k-1. */
        public static List<Integer> budgets(LongpoConfig c) {
            return perIteration(c, "loop.sample.budget");
        }

        /** A comma-separated per-iteration setting: iteration k's value at index k-1. */
        static List<Integer> perIteration(LongpoConfig c, String key) {
            return Arrays.stream(c.get(key).split(",")).map(String::trim).map(Integer::valueOf).toList();
        }

        /** The {@code loop.*} settings of run {@code run.id}, starting from the base model in {@code base}. */
        public static Settings from(LongpoConfig c, Path base) throws IOException {
            ModelConfig mc = ModelConfig.read(base.resolve("config.json"));
            return new Settings(c.get("run.id"), c.getInt("loop.short.window"), c.getInt("loop.max.iterations"),
                    budgets(c), c.getInt("trainer.accumulate"), perIteration(c, "loop.max.turns"),
                    mc.ropeTheta(), mc.headDim(), ThetaRule.valueOf(c.get("loop.theta.rule").toUpperCase(Locale.ROOT)),
                    c.getDouble("loop.short.margin"), c.getBoolean("loop.promote.best"),
                    c.getInt("loop.patience"), c.getLong("loop.stall.ms"), c.get("loop.short.task"),
                    c.get("worker.model.version"), base.toAbsolutePath().toUri().toString());
        }
    }

    private final Settings s;
    private final List<IterationEvent> decisions = new ArrayList<>();
    private final Map<String, Checkpoint> checkpoints = new LinkedHashMap<>();
    private final Map<String, Map<String, Double>> evals = new HashMap<>();
    private long quietSince = -1;

    public Controller(Settings settings) {
        this.s = settings;
    }

    /**
     * How the RoPE base grows with the stretch {@code s = target / L_s}. {@link #NTK} is the zero-shot
     * rule; {@link #PAPER} is what LongPO used when training (1e6 to 1e7 for 32K to 128K), a larger base.
     * On the mini pi_S only the larger bases ever lifted 8 L_s above 0, at a cost to shorter lengths
     * (README, "Choosing theta1").
     */
    public enum ThetaRule {
        /** NTK-aware: {@code theta0 * s^(d / (d - 2))}, so the lowest frequency covers the longer range. */
        NTK,
        /** The paper's: the base grows 10x for every 4x of length, {@code theta0 * 10^(log_4 s)}. */
        PAPER;

        public double theta(double theta0, int shortWindow, int target, int headDim) {
            double scale = (double) target / shortWindow;
            return theta0 * Math.pow(scale, this == NTK ? headDim / (headDim - 2.0) : Math.log(10) / Math.log(4));
        }
    }

    /** RoPE base the policy trains at in iteration k. */
    public double theta1(int k) {
        return s.thetaRule().theta(s.theta0(), s.shortWindow(), target(k), s.headDim());
    }

    /** Sample budget of iteration k. */
    public int budget(int k) {
        return ofIteration(s.sampleBudgets(), k);
    }

    /** Most turns (pairs of one document) in a sample of iteration k. */
    public int maxTurns(int k) {
        return ofIteration(s.maxTurns(), k);
    }

    /** Iteration k's entry of a per-iteration setting (the last entry serves every later iteration). */
    public static int ofIteration(List<Integer> values, int k) {
        return values.get(Math.min(k, values.size()) - 1);
    }

    /** Target length of iteration k: 8 L_s, 16 L_s, ... */
    public int target(int k) {
        return targetLength(s.shortWindow(), k);
    }

    /** Target length of iteration k for short window {@code shortWindow}: 8 L_s, 16 L_s, ... */
    public static int targetLength(int shortWindow, int k) {
        return shortWindow << (k + 2);
    }

    /** Shortest document iteration k trains on: 2 L_s, then the previous iteration's target. */
    public static int minLength(int shortWindow, int k) {
        return k == 1 ? 2 * shortWindow : targetLength(shortWindow, k - 1);
    }

    /** The decision events published so far (replayed on restart). */
    public List<IterationEvent> decisions() {
        return List.copyOf(decisions);
    }

    /**
     * Loads the decisions already published (the {@code iterations} topic read to its end); a restarted
     * controller calls this before feeding checkpoints and evaluations, so it does not decide twice.
     */
    public void restore(List<IterationEvent> published) {
        published.stream().filter(e -> e.getRunId().equals(s.runId())).forEach(decisions::add);
    }

    /**
     * Feeds one checkpoint, evaluation result or training metric (or a decision); returns the decisions
     * it causes.
     */
    public List<IterationEvent> on(Object event) {
        if (event instanceof IterationEvent e) {
            if (e.getRunId().equals(s.runId()) && !decisions.contains(e)) {
                decisions.add(e); // published by another instance, or our own read back from the topic
            }
            return List.of();
        }
        if (event instanceof Checkpoint c && c.getRunId().equals(s.runId())) {
            checkpoints.put(c.getModelVersion(), c);
            progress(c.getIteration());
        } else if (event instanceof EvalResult r && r.getDepth() == null) {
            evals.computeIfAbsent(r.getModelVersion(), v -> new HashMap<>()).put(r.getTask() + "@" + r.getLength(),
                    r.getScore());
            Checkpoint c = checkpoints.get(r.getModelVersion());
            if (c != null) {
                progress(c.getIteration());
            }
        } else if (event instanceof TrainingMetrics m && m.getRunId().equals(s.runId())) {
            progress(m.getIteration());
            return List.of();
        }
        return decide(null);
    }

    /**
     * The passing of time, at {@code nowMillis} (wall clock): ends the current iteration once it has been
     * quiet for {@code stallMs}, counted from the first tick after its start or after its last trained
     * sample, checkpoint or evaluation (a restarted controller counts afresh).
     */
    public List<IterationEvent> tick(long nowMillis) {
        if (s.stallMs() <= 0 || current().isEmpty() || stopped()) {
            return List.of();
        }
        if (quietSince < 0) {
            quietSince = nowMillis;
        }
        if (nowMillis - quietSince < s.stallMs()) {
            return List.of();
        }
        return decide(String.format(Locale.ROOT, "nothing of iteration %d trained, checkpointed or evaluated for %d s",
                current().get().getIteration(), s.stallMs() / 1000));
    }

    /** Something of iteration {@code k} happened: a trained sample, a checkpoint or an evaluation. */
    private void progress(int k) {
        if (current().map(e -> e.getIteration() == k).orElse(false)) {
            quietSince = -1;
        }
    }

    /** The first decision of a fresh run (nothing published yet): start iteration 1 from pi_S. */
    public List<IterationEvent> start() {
        if (!decisions.isEmpty()) {
            return List.of();
        }
        IterationEvent e = startEvent(1, s.baseVersion(), s.baseUri(), null, "start from pi_S");
        decisions.add(e);
        return List.of(e);
    }

    /** Decides on the current iteration; {@code stalled} (the reason) ends it with what it has. */
    private List<IterationEvent> decide(String stalled) {
        Optional<IterationEvent> cur = current();
        if (cur.isEmpty() || stopped()) {
            return List.of();
        }
        int k = cur.get().getIteration();
        List<Checkpoint> scored = checkpoints.values().stream()
                .filter(c -> c.getIteration() == k && c.getStep() > 0 && evaluated(c.getModelVersion(), k))
                .sorted(Comparator.comparingLong(Checkpoint::getStep)).toList();
        Optional<Checkpoint> done = scored.stream().filter(c -> appliedIn(c) >= budget(k)).findFirst();
        String ending = "";
        if (done.isEmpty()) {
            done = plateau(k, cur.get().getModelVersion(), scored);
            if (done.isPresent()) {
                ending = String.format(Locale.ROOT, "; ended before its budget: %d evaluated checkpoints without"
                        + " improving on %.3f at %d", s.patience(), bestBefore(k, cur.get().getModelVersion(), scored),
                        target(k));
            }
        }
        if (done.isEmpty() && stalled != null) {
            if (scored.isEmpty()) {
                IterationEvent stop = event(IterationEventType.STOP, k, cur.get().getModelVersion(), null, null,
                        "stopped: " + stalled + " and none of it evaluated; see the dead-letter topic");
                decisions.add(stop);
                return List.of(stop);
            }
            done = Optional.of(scored.get(scored.size() - 1));
            ending = "; ended before its budget: " + stalled;
        }
        if (done.isEmpty()) {
            return List.of();
        }
        Checkpoint candidate = done.get();
        if (s.promoteBest()) {
            candidate = scored.stream()
                    .max((a, b) -> Double.compare(longScore(a.getModelVersion(), k), longScore(b.getModelVersion(), k)))
                    .orElse(candidate);
        }
        double base = shortScore(s.baseVersion());
        double cand = shortScore(candidate.getModelVersion());
        List<IterationEvent> out = new ArrayList<>();
        if (Double.isNaN(base)) {
            return out; // wait for pi_S's short-task score
        }
        if (cand < base - s.shortMargin()) {
            out.add(event(IterationEventType.REJECT, k, candidate.getModelVersion(), candidate.getUri(),
                    candidate.getSha256(), String.format(Locale.ROOT,
                            "short-task score %.3f is more than %.3f below pi_S's %.3f", cand, s.shortMargin(), base)));
            out.add(event(IterationEventType.STOP, k, candidate.getModelVersion(), null, null,
                    "stopped: iteration " + k + " produced no promotable model"));
        } else {
            out.add(event(IterationEventType.PROMOTE, k, candidate.getModelVersion(), candidate.getUri(),
                    candidate.getSha256(), String.format(Locale.ROOT,
                            "short-task %.3f (pi_S %.3f), long-context %.3f at %d", cand, base,
                            longScore(candidate.getModelVersion(), k), target(k)) + ending));
            if (k < s.maxIterations()) {
                out.add(startEvent(k + 1, candidate.getModelVersion(), candidate.getUri(), candidate.getSha256(),
                        "promoted " + candidate.getModelVersion()));
            } else {
                out.add(event(IterationEventType.STOP, k, candidate.getModelVersion(), candidate.getUri(),
                        candidate.getSha256(), "reached the maximum of " + s.maxIterations() + " iterations"));
            }
        }
        decisions.addAll(out);
        quietSince = -1;
        return out;
    }

    /**
     * The iteration's last evaluated checkpoint when the last {@code patience} of them scored no better at
     * the target length than the best before them; empty while there is no such plateau, or no score
     * to compare with.
     */
    private Optional<Checkpoint> plateau(int k, String startVersion, List<Checkpoint> scored) {
        if (s.patience() <= 0 || scored.size() < s.patience()) {
            return Optional.empty();
        }
        double before = bestBefore(k, startVersion, scored);
        if (Double.isNaN(before)) {
            return Optional.empty();
        }
        boolean flat = scored.subList(scored.size() - s.patience(), scored.size()).stream()
                .allMatch(c -> longScore(c.getModelVersion(), k) <= before);
        return flat ? Optional.of(scored.get(scored.size() - 1)) : Optional.empty();
    }

    /** Best long-context score at the target length before the last {@code patience} checkpoints; NaN if none. */
    private double bestBefore(int k, String startVersion, List<Checkpoint> scored) {
        double best = Double.NaN;
        if (hasLongScore(startVersion, k)) {
            best = longScore(startVersion, k);
        }
        for (Checkpoint c : scored.subList(0, Math.max(0, scored.size() - s.patience()))) {
            double v = longScore(c.getModelVersion(), k);
            best = Double.isNaN(best) ? v : Math.max(best, v);
        }
        return best;
    }

    /** A long task has been scored for {@code version} at the iteration's target length. */
    private boolean hasLongScore(String version, int k) {
        return evals.getOrDefault(version, Map.of()).keySet().stream()
                .anyMatch(t -> t.endsWith("@" + target(k)) && !t.startsWith(s.shortTask() + "@"));
    }

    /** Samples of its iteration that checkpoint {@code c} has applied (steps since the iteration began). */
    private long appliedIn(Checkpoint c) {
        long startStep = checkpoints.values().stream().filter(x -> x.getIteration() < c.getIteration())
                .mapToLong(Checkpoint::getStep).max().orElse(0);
        return (c.getStep() - startStep) * s.samplesPerStep();
    }

    /** Both the short task and a long task at the iteration's target length have been scored. */
    private boolean evaluated(String version, int k) {
        Map<String, Double> e = evals.getOrDefault(version, Map.of());
        return e.keySet().stream().anyMatch(t -> t.startsWith(s.shortTask() + "@")) && hasLongScore(version, k);
    }

    private double shortScore(String version) {
        return evals.getOrDefault(version, Map.of()).entrySet().stream()
                .filter(e -> e.getKey().startsWith(s.shortTask() + "@")).mapToDouble(Map.Entry::getValue)
                .average().orElse(Double.NaN);
    }

    /** Mean of the long-context tasks at the iteration's target length. */
    private double longScore(String version, int k) {
        return evals.getOrDefault(version, Map.of()).entrySet().stream()
                .filter(e -> e.getKey().endsWith("@" + target(k)) && !e.getKey().startsWith(s.shortTask() + "@"))
                .mapToDouble(Map.Entry::getValue).average().orElse(0);
    }

    private Optional<IterationEvent> current() {
        for (int i = decisions.size() - 1; i >= 0; i--) {
            if (decisions.get(i).getType() == IterationEventType.START) {
                return Optional.of(decisions.get(i));
            }
        }
        return Optional.empty();
    }

    /** True once a STOP was decided. */
    public boolean stopped() {
        return decisions.stream().anyMatch(d -> d.getType() == IterationEventType.STOP);
    }

    private IterationEvent startEvent(int k, String version, String uri, String sha, String reason) {
        return event(IterationEventType.START, k, version, uri, sha, reason);
    }

    private IterationEvent event(IterationEventType type, int k, String version, String uri, String sha, String reason) {
        int target = target(k);
        return IterationEvent.newBuilder().setRunId(s.runId()).setIteration(k).setType(type).setModelVersion(version)
                .setCheckpointUri(uri).setCheckpointSha256(sha).setShortWindow(s.shortWindow())
                .setMinLength(minLength(s.shortWindow(), k)).setTargetLength(target)
                .setTheta0(s.theta0()).setTheta1(theta1(k))
                .setMaxTurns(maxTurns(k)).setSampleBudget(budget(k)).setReason(reason)
                .setCreatedAt(Instant.EPOCH).build();
    }
}
