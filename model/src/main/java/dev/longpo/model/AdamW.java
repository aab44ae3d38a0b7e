package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * AdamW (decoupled weight decay on matrices, none on norms) with linear warmup then cosine decay,
 * global-norm gradient clipping, and a state (moments and step) that saves and restores with the
 * weights, so a restarted trainer takes exactly the step it would have taken. Parameters matched by the
 * settings' frozen pattern stay fixed. Gradients accumulate
 * over backward passes until {@link #step()}, which applies and zeroes them. Updates run with grad mode
 * off, so the scalar arithmetic here never enters an autograd graph.
 */
public final class AdamW implements AutoCloseable {
    /**
     * Optimizer settings; build with {@link #builder()}: the learning rate and the schedule's length are
     * required ({@code setX}), everything else has the defaults named in {@link Builder} ({@code optX}).
     */
    public record Settings(double lr, double beta1, double beta2, double eps, double weightDecay, double maxGradNorm,
                           long warmupSteps, long totalSteps, double minLrRatio, String frozen) {
        /** True when parameter {@code name} is held fixed ({@link Builder#optFrozen}). */
        public boolean isFrozen(String name) {
            return !frozen.isEmpty() && Pattern.matches(frozen, name);
        }

        public static Builder builder() {
            return new Builder();
        }

        /** Builder of {@link Settings}; {@link #build()} checks every value. */
        public static final class Builder {
            private double lr = Double.NaN;
            private long totalSteps = -1;
            private double beta1 = 0.9;
            private double beta2 = 0.95;
            private double eps = 1e-8;
            private double weightDecay;
            private double maxGradNorm = 1.0;
            private long warmupSteps;
            private double minLrRatio = 0.1;
            private String frozen = "";

            /** Peak learning rate (required). */
            public Builder setLearningRate(double v) {
                lr = v;
                return this;
            }

            /** Steps of the whole schedule: warmup plus cosine decay (required). */
            public Builder setTotalSteps(long v) {
                totalSteps = v;
                return this;
            }

            /** Adam's moment decay rates (default 0.9, 0.95). */
            public Builder optBetas(double b1, double b2) {
                beta1 = b1;
                beta2 = b2;
                return this;
            }

            /** Adam's epsilon (default 1e-8). */
            public Builder optEps(double v) {
                eps = v;
                return this;
            }

            /** Decoupled weight decay on matrices (default 0). */
            public Builder optWeightDecay(double v) {
                weightDecay = v;
                return this;
            }

            /** Global L2 norm the gradients are clipped to; 0 = no clipping (default 1). */
            public Builder optMaxGradNorm(double v) {
                maxGradNorm = v;
                return this;
            }

            /** Steps of linear warmup (default 0). */
            public Builder optWarmupSteps(long v) {
                warmupSteps = v;
                return this;
            }

            /** The learning rate at the end of the cosine, as a fraction of the peak (default 0.1). */
            public Builder optMinLrRatio(double v) {
                minLrRatio = v;
                return this;
            }

            /**
             * A regular expression over Hugging Face parameter names ({@code model.layers.0.mlp.up_proj.weight});
             * the parameters it matches whole are never updated and left out of the clipping norm (default
             * empty: every parameter trains).
             */
            public Builder optFrozen(String regex) {
                frozen = regex == null ? "" : regex.trim();
                return this;
            }

            public Settings build() {
                if (!(lr > 0) || totalSteps < 1) {
                    throw new IllegalArgumentException("AdamW needs a positive learning rate and total steps (got lr "
                            + lr + ", total steps " + totalSteps + ")");
                }
                if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0)) {
                    throw new IllegalArgumentException("AdamW betas must lie in [0, 1) and eps must be positive");
                }
                if (weightDecay < 0 || maxGradNorm < 0 || warmupSteps < 0 || minLrRatio < 0 || minLrRatio > 1) {
                    throw new IllegalArgumentException("AdamW weight decay, clip norm and warmup must not be negative,"
                            + " and the minimum learning-rate ratio must lie in [0, 1]");
                }
                try {
                    Pattern.compile(frozen);
                } catch (PatternSyntaxException e) {
                    throw new IllegalArgumentException("the frozen-parameter pattern '" + frozen + "' is not a regular"
                            + " expression: " + e.getDescription());
                }
                return new Settings(lr, beta1, beta2, eps, weightDecay, maxGradNorm, warmupSteps, totalSteps, minLrRatio,
                        frozen);
            }
        }
    }

    /** What one update did. */
    public record StepInfo(long step, double learningRate, double gradNorm, boolean skipped) {
    }

    private final LlamaModel model;
    private final Settings s;
    private final NDManager manager;
    private final Map<String, NDArray> m1 = new LinkedHashMap<>();
    private final Map<String, NDArray> m2 = new LinkedHashMap<>();
    private long step;

    public AdamW(LlamaModel model, Settings settings) {
        this.model = model;
        this.s = settings;
        this.manager = model.manager().newSubManager();
        model.parameters().forEach((k, p) -> {
            m1.put(k, manager.zeros(p.getShape(), DataType.FLOAT32));
            m2.put(k, manager.zeros(p.getShape(), DataType.FLOAT32));
        });
    }

    public Settings settings() {
        return s;
    }

    /** Updates taken so far. */
    public long stepCount() {
        return step;
    }

    /** Learning rate of update number {@code n} (1-based): linear warmup, then cosine to minLrRatio * lr. */
    public double learningRate(long n) {
        if (s.warmupSteps() > 0 && n <= s.warmupSteps()) {
            return s.lr() * n / s.warmupSteps();
        }
        long decay = Math.max(1, s.totalSteps() - s.warmupSteps());
        double progress = Math.min(1.0, (double) (n - s.warmupSteps()) / decay);
        double cos = 0.5 * (1 + Math.cos(Math.PI * progress));
        return s.lr() * (s.minLrRatio() + (1 - s.minLrRatio()) * cos);
    }

    /**
     * Clips the accumulated gradients to {@code maxGradNorm} (global L2 norm), applies one AdamW update and
     * zeroes the gradients. A non-finite gradient norm skips the update (the step count does not advance).
     */
    public StepInfo step() {
        JniUtils.setGradMode(false);
        try (NDScope scope = new NDScope()) {
            Map<String, NDArray> grads = new LinkedHashMap<>();
            double sq = 0;
            for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
                if (s.isFrozen(e.getKey())) {
                    continue;
                }
                NDArray g = e.getValue().getGradient();
                grads.put(e.getKey(), g);
                sq += Tensors.value(g.square().sum());
            }
            double norm = Math.sqrt(sq);
            if (!Double.isFinite(norm)) {
                return new StepInfo(step, learningRate(step + 1), norm, true);
            }
            step++;
            double lr = learningRate(step);
            double clip = s.maxGradNorm() > 0 && norm > s.maxGradNorm() ? s.maxGradNorm() / norm : 1.0;
            double bc1 = 1 - Math.pow(s.beta1(), step);
            double bc2 = 1 - Math.pow(s.beta2(), step);
            for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
                String name = e.getKey();
                if (!grads.containsKey(name)) {
                    continue;
                }
                NDArray p = e.getValue();
                NDArray g = grads.get(name).mul(clip);
                m1.get(name).muli(s.beta1()).addi(g.mul(1 - s.beta1()));
                m2.get(name).muli(s.beta2()).addi(g.square().mul(1 - s.beta2()));
                if (s.weightDecay() > 0 && p.getShape().dimension() > 1) {
                    p.muli(1 - lr * s.weightDecay());
                }
                NDArray denom = m2.get(name).div(bc2).sqrt().add(s.eps());
                p.subi(m1.get(name).div(bc1).div(denom).mul(lr));
            }
            return new StepInfo(step, lr, norm, false);
        } finally {
            zeroGradients();
        }
    }

    /** Sets every accumulated gradient to zero (NaN included). */
    public void zeroGradients() {
        for (NDArray p : model.parameters().values()) {
            if (p.hasGradient()) {
                JniUtils.zeroGrad((PtNDArray) p);
            }
        }
    }

    /** Moments as float arrays ({@code exp_avg.<name>}, {@code exp_avg_sq.<name>}), for checkpoints. */
    public Map<String, float[]> state() {
        Map<String, float[]> out = new LinkedHashMap<>();
        m1.forEach((k, v) -> out.put("exp_avg." + k, v.toFloatArray()));
        m2.forEach((k, v) -> out.put("exp_avg_sq." + k, v.toFloatArray()));
        return out;
    }

    /** Restores moments and the step count saved by {@link #state()}. */
    public void load(Map<String, float[]> state, long stepCount) {
        for (String k : m1.keySet()) {
            float[] a = state.get("exp_avg." + k);
            float[] b = state.get("exp_avg_sq." + k);
            if (a == null || b == null) {
                throw new IllegalArgumentException("optimizer state has no moments for " + k);
            }
            m1.get(k).set(a);
            m2.get(k).set(b);
        }
        this.step = stepCount;
    }

    @Override
    public void close() {
        manager.close();
    }
}
