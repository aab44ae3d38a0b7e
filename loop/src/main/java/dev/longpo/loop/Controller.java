package dev.longpo.loop;

import dev.longpo.avro.Checkpoint;
import dev.longpo.avro.IterationEvent;
import dev.longpo.avro.IterationEventType;
import dev.longpo.events.RunScope;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The self-evolution controller as a deterministic state machine over a run's events: it folds its
 * own past decisions, checkpoints, evaluation results and training metrics into a {@link RunState},
 * and returns the decisions to publish. Because all of its state is rebuilt from those topics, a
 * restarted controller replays them and goes on where it stopped.
 *
 * <p>Iteration k (from 1) trains at target length {@code 2^(k+s) x L_s} ({@link Settings#firstStretch()}
 * gives 2^s for k = 1) with the RoPE base from {@link ThetaRule}. It ends at the first of:
 * <ul>
 *   <li>the trainer has applied its sample budget and a checkpoint covering them is evaluated;</li>
 *   <li>evaluation stopped improving: the long-context score at the target length of its last
 *       {@code patience} evaluated checkpoints is no better than the best before them (its starting
 *       model included; 0 turns this off);</li>
 *   <li>it went quiet: no stage of it moved for {@code stallMs} (no instruction request, instruction,
 *       generation request, pair, sample, trainer step, checkpoint or evaluation of the iteration; say,
 *       every request went to the dead-letter topic); then its last evaluated checkpoint is the candidate,
 *       and without one the run stops, naming what each stage made and the dead letters with their last
 *       reason. A slow stage that still moves never ends an iteration, so a slower machine finishes later.</li>
 * </ul>
 * The candidate (the last, or the best by long-context score) is promoted, to become iteration k+1's
 * generator, initial policy and frozen reference, unless its short-task score falls more than
 * {@code shortMargin} below pi_S's, in which case a REJECT event says why and the run stops.
 */
public final class Controller {
    private final LoopSettings s;
    private final RunState state;
    private long quietSince = -1;

    public Controller(LoopSettings settings) {
        this.s = settings;
        this.state = new RunState(settings.runId(), settings.shortTasks(), settings.threshold());
    }

    /**
     * How the RoPE base grows with the stretch {@code s = target / L_s}. {@link #NTK} is the zero-shot
     * rule; {@link #PAPER} is what LongPO used when training (1e6 to 1e7 for 32K to 128K), a larger base;
     * {@link #KEEP} leaves the base as it is, for a pi_S pretrained at a base already large enough for
     * the target (as Mistral-7B-Instruct-v0.2's 1e6 and the mini pi_S's).
     */
    public enum ThetaRule {
        /** NTK-aware: {@code theta0 * s^(d / (d - 2))}, so the lowest frequency covers the longer range. */
        NTK,
        /** The paper's: the base grows 10x for every 4x of length, {@code theta0 * 10^(log_4 s)}. */
        PAPER,
        /** theta1 = theta0. */
        KEEP;

        public double theta(double theta0, int shortWindow, int target, int headDim) {
            double scale = (double) target / shortWindow;
            return switch (this) {
                case NTK -> theta0 * Math.pow(scale, headDim / (headDim - 2.0));
                case PAPER -> theta0 * Math.pow(scale, Math.log(10) / Math.log(4));
                case KEEP -> theta0;
            };
        }
    }

    /** The run model the controller decides on. */
    public RunState state() {
        return state;
    }

    /** RoPE base the policy trains at in iteration k. */
    public double theta1(int k) {
        return s.thetaRule().theta(s.theta0(), s.shortWindow(), target(k), s.headDim());
    }

    /** Sample budget of iteration k. */
    public int budget(int k) {
        return LoopSettings.ofIteration(s.sampleBudgets(), k);
    }

    /** Most turns (pairs of one document) in a sample of iteration k. */
    public int maxTurns(int k) {
        return LoopSettings.ofIteration(s.maxTurns(), k);
    }

    /** Target length of iteration k. */
    public int target(int k) {
        return s.targetLength(k);
    }

    /** The decision events published so far (replayed on restart). */
    public List<IterationEvent> decisions() {
        return state.decisions();
    }

    /**
     * Loads the decisions already published (the {@code iterations} topic read to its end); a restarted
     * controller calls this before feeding checkpoints and evaluations, so it does not decide twice.
     */
    public void restore(List<IterationEvent> published) {
        published.forEach(e -> state.accept(new RunEvent.Decided(e)));
    }

    /** Feeds one event of the run; returns the decisions it causes. */
    public List<IterationEvent> on(RunEvent event) {
        state.accept(event);
        if (event instanceof RunEvent.Decided) {
            return List.of(); // published by another instance, or our own read back from the topic
        }
        if (event instanceof RunEvent.Announced a && a.checkpoint().getRunId().equals(s.runId())) {
            progress(a.checkpoint().getIteration());
        } else if (event instanceof RunEvent.Evaluated v) {
            state.checkpoint(v.result().getModelVersion()).ifPresent(c -> progress(c.getIteration()));
        } else if (event instanceof RunEvent.Trained t) {
            if (t.metrics().getRunId().equals(s.runId())) {
                progress(t.metrics().getIteration());
            }
            return List.of();
        } else if (event instanceof RunEvent.Moved m) {
            if (RunScope.takes(s.runId(), m.run())) {
                progress(m.iteration());
            }
            return List.of();
        } else if (event instanceof RunEvent.DeadLettered) {
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
        if (s.stallMs() <= 0 || state.current().isEmpty() || stopped()) {
            return List.of();
        }
        if (quietSince < 0) {
            quietSince = nowMillis;
        }
        if (nowMillis - quietSince < s.stallMs()) {
            return List.of();
        }
        int k = state.current().get().getIteration();
        return decide(String.format(Locale.ROOT, "no stage of iteration %d moved for %d s (%s)", k, s.stallMs() / 1000,
                stages(k)));
    }

    /** What each stage of iteration k made so far, and the dead letters with their last reason. */
    private String stages(int k) {
        StringBuilder b = new StringBuilder("made so far: ");
        Map<String, Long> made = state.pipeline(k);
        b.append(made.isEmpty() ? "nothing before the trainer" : made.entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")));
        b.append(", trainer steps ").append(state.metrics().stream().filter(m -> m.getIteration() == k).count());
        b.append(", checkpoints ").append(state.checkpoints(k).size());
        Map<String, Long> dead = state.deadLetters();
        b.append(dead.isEmpty() ? "; no dead letters" : "; dead letters: " + dead.entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue() + " (last: " + state.lastDeadLetter(e.getKey()) + ")")
                .collect(Collectors.joining(", ")));
        return b.toString();
    }

    /** Something of iteration {@code k} happened: a trained sample, a checkpoint or an evaluation. */
    private void progress(int k) {
        if (state.current().map(e -> e.getIteration() == k).orElse(false)) {
            quietSince = -1;
        }
    }

    /** The first decision of a fresh run (nothing published yet): start iteration 1 from pi_S. */
    public List<IterationEvent> start() {
        if (!decisions().isEmpty()) {
            return List.of();
        }
        return publish(List.of(event(IterationEventType.START, 1, s.baseVersion(), s.baseUri(), null, "start from pi_S")));
    }

    /** True once a STOP was decided. */
    public boolean stopped() {
        return state.stopped();
    }

    private List<IterationEvent> publish(List<IterationEvent> out) {
        out.forEach(e -> state.accept(new RunEvent.Decided(e)));
        return out;
    }

    /** Decides on the current iteration; {@code stalled} (the reason) ends it with what it has. */
    private List<IterationEvent> decide(String stalled) {
        Optional<IterationEvent> cur = state.current();
        if (cur.isEmpty() || stopped()) {
            return List.of();
        }
        int k = cur.get().getIteration();
        String start = cur.get().getModelVersion();
        List<Checkpoint> scored = state.checkpoints(k).stream()
                .filter(c -> c.getStep() > 0 && evaluated(c.getModelVersion(), k)).toList();
        Optional<Checkpoint> done = scored.stream().filter(c -> appliedIn(c) >= budget(k)).findFirst();
        String ending = "";
        if (done.isEmpty()) {
            done = plateau(k, start, scored);
            if (done.isPresent()) {
                ending = String.format(Locale.ROOT, "; ended before its budget: %d evaluated checkpoints without"
                        + " improving on %.3f at %d", s.patience(), bestBefore(k, start, scored), target(k));
            }
        }
        if (done.isEmpty() && stalled != null) {
            if (scored.isEmpty()) {
                return publish(List.of(event(IterationEventType.STOP, k, start, null, null,
                        "stopped: " + stalled + " and none of it evaluated")));
            }
            done = Optional.of(scored.get(scored.size() - 1));
            ending = "; ended before its budget: " + stalled;
        }
        if (done.isEmpty()) {
            return List.of();
        }
        Checkpoint candidate = done.get();
        if (s.promoteBest()) {
            candidate = scored.stream().max((a, b) -> Double.compare(longScore(a.getModelVersion(), k),
                    longScore(b.getModelVersion(), k))).orElse(candidate);
        }
        double base = state.shortScore(s.baseVersion());
        double cand = state.shortScore(candidate.getModelVersion());
        if (Double.isNaN(base)) {
            return List.of(); // wait for pi_S's short-task score
        }
        List<IterationEvent> out = new ArrayList<>();
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
                out.add(event(IterationEventType.START, k + 1, candidate.getModelVersion(), candidate.getUri(),
                        candidate.getSha256(), "promoted " + candidate.getModelVersion()));
            } else {
                out.add(event(IterationEventType.STOP, k, candidate.getModelVersion(), candidate.getUri(),
                        candidate.getSha256(), "reached the maximum of " + s.maxIterations() + " iterations"));
            }
        }
        quietSince = -1;
        return publish(out);
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
        double best = state.hasLongScore(startVersion, target(k)) ? longScore(startVersion, k) : Double.NaN;
        for (Checkpoint c : scored.subList(0, Math.max(0, scored.size() - s.patience()))) {
            double v = longScore(c.getModelVersion(), k);
            best = Double.isNaN(best) ? v : Math.max(best, v);
        }
        return best;
    }

    /** Samples of its iteration that checkpoint {@code c} has applied (steps since the iteration began). */
    private long appliedIn(Checkpoint c) {
        return (c.getStep() - state.firstStep(c.getIteration())) * s.samplesPerStep();
    }

    /** Both a short task and a long task at the iteration's target length have been scored. */
    private boolean evaluated(String version, int k) {
        return !state.shortTasks(version).isEmpty() && state.hasLongScore(version, target(k));
    }

    /** Mean of the long-context tasks at the iteration's target length (0 before any arrived). */
    private double longScore(String version, int k) {
        double v = state.longMean(version, target(k));
        return Double.isNaN(v) ? 0 : v;
    }

    private IterationEvent event(IterationEventType type, int k, String version, String uri, String sha, String reason) {
        return IterationEvent.newBuilder().setRunId(s.runId()).setIteration(k).setType(type).setModelVersion(version)
                .setCheckpointUri(uri).setCheckpointSha256(sha).setShortWindow(s.shortWindow())
                .setMinLength(s.minLength(k)).setTargetLength(target(k))
                .setTheta0(s.theta0()).setTheta1(theta1(k))
                .setMaxTurns(maxTurns(k)).setSampleBudget(budget(k)).setReason(reason)
                .setCreatedAt(Instant.EPOCH).build();
    }
}
