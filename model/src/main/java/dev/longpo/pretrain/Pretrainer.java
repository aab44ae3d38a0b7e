package dev.longpo.pretrain;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import dev.longpo.model.AdamW;
import dev.longpo.files.AtomicFiles;
import dev.longpo.model.Checkpoints;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.Scorer;
import dev.longpo.model.Tensors;
import dev.longpo.model.TokenBatch;
import dev.longpo.model.TrainStep;
import dev.longpo.tasks.TaskInstance;
import dev.longpo.tasks.Tasks;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.IntConsumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains the short-context base model pi_S (the mini model of the demo and tests): supervised answers over a
 * weighted mix of the task suite (loss on answer tokens, plus {@code lmWeight} times the language-model loss
 * on every token, which grows the induction heads retrieval needs), with prompts of random length up to the
 * short window ({@link #promptLength}) and needles at random depths.
 *
 * <p>A run is deterministic for its seed and resumable: step n's batch is drawn from a generator seeded
 * by (seed, n), and every {@code checkpointEvery} steps the weights, the optimizer moments and the step
 * are written atomically to the state folder; {@link #resume} continues from the newest such state and
 * takes exactly the steps the uninterrupted run would have taken.
 */
public final class Pretrainer {
    private static final Logger LOG = LoggerFactory.getLogger(Pretrainer.class);

    /** Settings of a pretraining run; build with {@link #builder()}. */
    public record Settings(int window, int steps, int batchSize, double lr, long seed, int evalEvery, double lmWeight,
                           Map<String, Double> mix, int checkpointEvery) {
        public static Builder builder() {
            return new Builder();
        }

        /** The optimizer of the run: AdamW 0.9/0.95, decay 0.01, 5% warmup, cosine to 5% of the peak. */
        public AdamW.Settings optimizer() {
            return AdamW.Settings.builder().setLearningRate(lr).setTotalSteps(steps).optWeightDecay(0.01)
                    .optWarmupSteps(Math.max(1, steps / 20)).optMinLrRatio(0.05).build();
        }

        /**
         * The default mix: retrieval (single, multi-key, multi-value, multi-query needles), variable
         * tracking and QA over prose, question writing (self-instruct), and the two short-only tasks
         * (knowledge multiple choice, copy-and-transform).
         */
        public static Map<String, Double> defaultMix() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("niah_single", 0.10);
            m.put("niah_single_word", 0.03);
            m.put("niah_single_uuid", 0.03);
            m.put("niah_multikey", 0.22);
            m.put("niah_multivalue", 0.04);
            m.put("niah_multiquery", 0.04);
            m.put("vt", 0.04);
            m.put("qa", 0.16);
            m.put("write_question", 0.08);
            m.put("short_mc", 0.18);
            m.put("short_caps", 0.08);
            return m;
        }

        /** Builder with the defaults of {@code longpo pretrain}; {@link #build()} checks every value. */
        public static final class Builder {
            private int window = 128;
            private int steps = -1;
            private int batchSize = 16;
            private double lr = 2e-3;
            private long seed = 1;
            private int evalEvery = 250;
            private double lmWeight = 0.1;
            private Map<String, Double> mix = defaultMix();
            private int checkpointEvery = 250;

            /** Optimizer steps of the whole run (required). */
            public Builder setSteps(int v) {
                steps = v;
                return this;
            }

            /** Short window L_s: prompts are 40..L_s tokens (default 256). */
            public Builder optWindow(int v) {
                window = v;
                return this;
            }

            public Builder optBatchSize(int v) {
                batchSize = v;
                return this;
            }

            public Builder optLearningRate(double v) {
                lr = v;
                return this;
            }

            public Builder optSeed(long v) {
                seed = v;
                return this;
            }

            /** Steps between progress evaluations; 0 = none (default 250). */
            public Builder optEvalEvery(int v) {
                evalEvery = v;
                return this;
            }

            /** Weight of the language-model loss on every token (default 0.1). */
            public Builder optLmWeight(double v) {
                lmWeight = v;
                return this;
            }

            /** Task name to weight (weights are normalised). */
            public Builder optMix(Map<String, Double> v) {
                mix = new LinkedHashMap<>(v);
                return this;
            }

            /** Steps between resumable states; 0 = none (default 250). */
            public Builder optCheckpointEvery(int v) {
                checkpointEvery = v;
                return this;
            }

            public Settings build() {
                if (steps < 1 || batchSize < 1 || window < 48 || !(lr > 0) || lmWeight < 0 || evalEvery < 0
                        || checkpointEvery < 0) {
                    throw new IllegalArgumentException("pretraining needs steps >= 1, batch >= 1, window >= 48, lr > 0"
                            + " and non-negative lm weight, eval and checkpoint intervals");
                }
                if (mix.isEmpty() || mix.values().stream().anyMatch(w -> !(w >= 0))
                        || mix.values().stream().mapToDouble(Double::doubleValue).sum() <= 0) {
                    throw new IllegalArgumentException("the task mix needs non-negative weights with a positive sum");
                }
                mix.keySet().forEach(Tasks::get);
                return new Settings(window, steps, batchSize, lr, seed, evalEvery, lmWeight,
                        Collections.unmodifiableMap(new LinkedHashMap<>(mix)), checkpointEvery);
            }
        }
    }

    /** What a resumable state records besides weights and optimizer: its step and the run's seed. */
    record State(int step, long seed) {
    }

    /** Progress of one step. */
    public record StepLog(int step, double loss, double lr, double seconds) {
    }

    private final LlamaModel model;
    private final Settings s;
    private final AdamW optimizer;
    private final TrainStep<Double> trainStep;
    private final ChatFormat fmt = new ChatFormat(ByteTokenizer.INSTANCE);

    /** A run from step 0 on {@code model}. */
    public Pretrainer(LlamaModel model, Settings settings) {
        this(model, new AdamW(model, settings.optimizer()), settings);
    }

    private Pretrainer(LlamaModel model, AdamW optimizer, Settings settings) {
        this.model = model;
        this.s = settings;
        this.optimizer = optimizer;
        this.trainStep = new TrainStep<>(model, optimizer);
    }

    /** The run continued from the newest state in {@code stateDir}, if there is one. */
    public static Optional<Pretrainer> resume(Path stateDir, Device device, Settings settings) throws IOException {
        Optional<Path> newest = Checkpoints.newest(stateDir, "step-");
        if (newest.isEmpty()) {
            return Optional.empty();
        }
        Checkpoints.Restored<State> r = Checkpoints.load(newest.get(), device, settings.optimizer(), State.class);
        if (r.state().seed() != settings.seed()) {
            r.model().close();
            throw new IllegalArgumentException("the state in " + stateDir + " belongs to a run of seed " + r.state().seed()
                    + ", not " + settings.seed() + ": resume with the same arguments, or choose another --state");
        }
        LOG.info("resuming pretraining from {} (step {})", newest.get(), r.optimizer().stepCount());
        return Optional.of(new Pretrainer(r.model(), r.optimizer(), settings));
    }

    public LlamaModel model() {
        return model;
    }

    /** Steps taken so far (the step a resumed run continues after). */
    public int step() {
        return (int) optimizer.stepCount();
    }

    /** The generator of step {@code step}'s batch: the same for every run of the same seed. */
    Random dataRandom(int step) {
        return new Random(s.seed() * 0x9E3779B97F4A7C15L + step);
    }

    /** One training example: a task instance sized to a random length within the window. */
    TaskInstance sample(Random rnd) {
        double u = rnd.nextDouble();
        double total = s.mix().values().stream().mapToDouble(Double::doubleValue).sum();
        String task = s.mix().keySet().iterator().next();
        double acc = 0;
        for (Map.Entry<String, Double> e : s.mix().entrySet()) {
            acc += e.getValue() / total;
            if (u <= acc) {
                task = e.getKey();
                break;
            }
        }
        return Tasks.get(task).generate(promptLength(rnd), rnd.nextDouble(), rnd);
    }

    /**
     * A prompt length in 40..L_s tokens: half uniform over that range, half from the window's last quarter.
     * Uniform lengths alone leave position p in only (L_s - p) / L_s of the rows, so a model trained that
     * way fails near L_s (a pilot: multi-key 0.75 at 200 tokens, 0.13 at 256).
     */
    int promptLength(Random rnd) {
        int low = rnd.nextBoolean() ? 40 : Math.max(40, s.window() * 3 / 4);
        return low + rnd.nextInt(Math.max(1, s.window() - low + 1));
    }

    /**
     * Runs the remaining steps; calls {@code eval} every {@code evalEvery} steps and at the end, and
     * writes a resumable state into {@code stateDir} (null: none) every {@code checkpointEvery} steps.
     */
    public List<StepLog> run(Path stateDir, IntConsumer eval) throws IOException {
        List<StepLog> logs = new ArrayList<>();
        long t0 = System.nanoTime();
        int first = step() + 1;
        double ema = Double.NaN;
        for (int step = first; step <= s.steps(); step++) {
            Random rnd = dataRandom(step);
            List<int[]> rows = new ArrayList<>();
            List<boolean[]> marks = new ArrayList<>();
            for (int b = 0; b < s.batchSize(); b++) {
                TaskInstance t = sample(rnd);
                ChatFormat.Sequence seq = fmt.conversation(t.context(), List.of(t.question()),
                        List.of(ByteTokenizer.INSTANCE.encode(t.answer())));
                rows.add(seq.tokens());
                marks.add(seq.answer());
            }
            TrainStep.Result<Double> res = trainStep.run(List.of(m -> {
                TokenBatch batch = TokenBatch.of(rows, ByteTokenizer.PAD);
                NDArray lp = Scorer.nextTokenLogProbs(model, batch.tokens(m));
                NDArray mask = batch.targetMask(m, marks);
                NDArray valid = batch.validMask(m);
                NDArray nll = lp.mul(mask).sum().neg().div(mask.sum());
                NDArray lm = lp.mul(valid).sum().neg().div(valid.sum());
                return new TrainStep.Loss<>(nll.add(lm.mul(Tensors.scalar(m, s.lmWeight()))), Tensors.value(nll));
            }));
            double loss = res.metrics().get(0);
            ema = Double.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
            double secs = (System.nanoTime() - t0) / 1e9;
            logs.add(new StepLog(step, loss, res.info().learningRate(), secs));
            if (step % 25 == 0 || step == first) {
                LOG.info(String.format(Locale.ROOT, "step %5d/%d  loss %.4f (ema %.4f)  lr %.2e  %.1f s  %.2f s/step",
                        step, s.steps(), loss, ema, res.info().learningRate(), secs, secs / (step - first + 1)));
            }
            if (stateDir != null && s.checkpointEvery() > 0 && step % s.checkpointEvery() == 0 && step < s.steps()) {
                saveState(stateDir, step);
            }
            if (s.evalEvery() > 0 && (step % s.evalEvery() == 0 || step == s.steps())) {
                model.setTrainable(false);
                eval.accept(step);
            }
        }
        model.setTrainable(false);
        return logs;
    }

    /** Writes the state of {@code step} and removes older ones. */
    private void saveState(Path stateDir, int step) throws IOException {
        Path dir = stateDir.resolve(String.format(Locale.ROOT, "step-%08d", step));
        Checkpoints.save(dir, model, optimizer, new State(step, s.seed()));
        try (Stream<Path> st = Files.list(stateDir)) {
            for (Path p : st.filter(p -> p.getFileName().toString().startsWith("step-") && !p.equals(dir)).toList()) {
                AtomicFiles.deleteTree(p);
            }
        }
        LOG.info("saved a resumable state at step {} in {}", step, dir);
    }

    /** Frees the optimizer state (the model belongs to the caller). */
    public void closeOptimizer() {
        optimizer.close();
    }
}
