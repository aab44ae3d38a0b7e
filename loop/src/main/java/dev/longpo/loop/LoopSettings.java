package dev.longpo.loop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.common.LongpoConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Settings of a self-evolution run: its schedule (short window, the stretch of iteration 1, doubling
 * after), per-iteration sample budgets and turns, the RoPE rule, the promotion gate and the ending
 * rules, and the base model it starts from. Build with {@link #builder()} or {@link #from}; per-iteration
 * lists hold iteration k's value at index k-1, the last entry serving every later iteration.
 */
public record LoopSettings(String runId, int shortWindow, int firstStretch, int maxIterations, List<Integer> sampleBudgets,
                           int samplesPerStep, List<Integer> maxTurns, double theta0, int headDim,
                           Controller.ThetaRule thetaRule, double shortMargin, boolean promoteBest, int patience,
                           long stallMs, List<String> shortTasks, double threshold, String baseVersion, String baseUri) {

    /** Target length of iteration k: {@code firstStretch x L_s}, doubling with every iteration. */
    public int targetLength(int k) {
        return shortWindow * firstStretch << (k - 1);
    }

    /** Shortest document iteration k trains on: 2 L_s, then the previous iteration's target. */
    public int minLength(int k) {
        return k == 1 ? 2 * shortWindow : targetLength(k - 1);
    }

    /** Iteration k's entry of a per-iteration setting (the last entry serves every later iteration). */
    public static int ofIteration(List<Integer> values, int k) {
        return values.get(Math.min(k, values.size()) - 1);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The {@code loop.*} settings of run {@code run.id} (plus {@code trainer.accumulate},
     * {@code eval.threshold} and {@code worker.model.version}), starting from the base model in
     * {@code base}, whose {@code config.json} gives theta0 and the head size.
     */
    public static LoopSettings from(LongpoConfig c, Path base) throws IOException {
        JsonNode mc = new ObjectMapper().readTree(base.resolve("config.json").toFile());
        int heads = mc.path("num_attention_heads").asInt();
        int headDim = mc.hasNonNull("head_dim") ? mc.get("head_dim").asInt()
                : heads > 0 ? mc.path("hidden_size").asInt() / heads : 0;
        return builder().setRunId(c.get("run.id")).setShortWindow(c.getInt("loop.short.window"))
                .optFirstStretch(c.getInt("loop.first.stretch")).optMaxIterations(c.getInt("loop.max.iterations"))
                .optSampleBudgets(perIteration(c, "loop.sample.budget")).optSamplesPerStep(c.getInt("trainer.accumulate"))
                .optMaxTurns(perIteration(c, "loop.max.turns"))
                .setBase(c.get("worker.model.version"), base.toAbsolutePath().toUri().toString(),
                        mc.path("rope_theta").asDouble(10_000), headDim)
                .optThetaRule(Controller.ThetaRule.valueOf(c.get("loop.theta.rule").trim().toUpperCase(Locale.ROOT)))
                .optShortMargin(c.getDouble("loop.short.margin")).optPromoteBest(c.getBoolean("loop.promote.best"))
                .optPatience(c.getInt("loop.patience")).optStallMs(c.getLong("loop.stall.ms"))
                .optShortTasks(List.of(c.get("loop.short.tasks").split(","))).optThreshold(c.getDouble("eval.threshold"))
                .build();
    }

    /** A comma-separated per-iteration setting, such as {@code loop.sample.budget}. */
    public static List<Integer> perIteration(LongpoConfig c, String key) {
        return Arrays.stream(c.get(key).split(",")).map(String::trim).map(Integer::valueOf).toList();
    }

    /** Builder of {@link LoopSettings}; {@link #build()} checks every value. */
    public static final class Builder {
        private String runId;
        private int shortWindow;
        private int firstStretch = 4;
        private int maxIterations = 3;
        private List<Integer> sampleBudgets = List.of(64);
        private int samplesPerStep = 1;
        private List<Integer> maxTurns = List.of(4);
        private double theta0 = Double.NaN;
        private int headDim;
        private Controller.ThetaRule thetaRule = Controller.ThetaRule.KEEP;
        private double shortMargin = 0.03;
        private boolean promoteBest;
        private int patience;
        private long stallMs = 1_800_000;
        private List<String> shortTasks = List.of("short_mc", "short_caps");
        private double threshold = 0.8;
        private String baseVersion;
        private String baseUri;

        public Builder setRunId(String v) {
            runId = v;
            return this;
        }

        /** L_s, the short window of pi_S in tokens. */
        public Builder setShortWindow(int v) {
            shortWindow = v;
            return this;
        }

        /** The base model: its version, URI, RoPE base theta0 and head size. */
        public Builder setBase(String version, String uri, double theta, int headSize) {
            baseVersion = version;
            baseUri = uri;
            theta0 = theta;
            headDim = headSize;
            return this;
        }

        /** Iteration 1's target as a multiple of L_s (default 4, the paper's 32K to 128K); it doubles after. */
        public Builder optFirstStretch(int v) {
            firstStretch = v;
            return this;
        }

        public Builder optMaxIterations(int v) {
            maxIterations = v;
            return this;
        }

        public Builder optSampleBudgets(List<Integer> v) {
            sampleBudgets = List.copyOf(v);
            return this;
        }

        /** Samples per optimizer step (the trainer's accumulation). */
        public Builder optSamplesPerStep(int v) {
            samplesPerStep = v;
            return this;
        }

        public Builder optMaxTurns(List<Integer> v) {
            maxTurns = List.copyOf(v);
            return this;
        }

        public Builder optThetaRule(Controller.ThetaRule v) {
            thetaRule = v;
            return this;
        }

        /** How far a candidate's short-task score may fall below pi_S's and still be promoted. */
        public Builder optShortMargin(double v) {
            shortMargin = v;
            return this;
        }

        public Builder optPromoteBest(boolean v) {
            promoteBest = v;
            return this;
        }

        /** Evaluated checkpoints without improvement that end an iteration early; 0 = off. */
        public Builder optPatience(int v) {
            patience = v;
            return this;
        }

        /** Quiet time that ends an iteration; 0 = never. */
        public Builder optStallMs(long v) {
            stallMs = v;
            return this;
        }

        /** The short-only tasks whose mean is the promotion gate's score. */
        public Builder optShortTasks(List<String> v) {
            shortTasks = v.stream().map(String::trim).filter(t -> !t.isEmpty()).toList();
            return this;
        }

        /** The long-task mean that counts for the effective length. */
        public Builder optThreshold(double v) {
            threshold = v;
            return this;
        }

        public LoopSettings build() {
            if (runId == null || runId.isBlank() || baseVersion == null || baseUri == null) {
                throw new IllegalArgumentException("a run needs a run id and a base model (version and URI)");
            }
            if (shortWindow < 1 || firstStretch < 1 || maxIterations < 1 || samplesPerStep < 1 || !(theta0 > 0)
                    || headDim < 2) {
                throw new IllegalArgumentException("a run needs a positive short window, first stretch, iteration count,"
                        + " samples per step, RoPE base and head size (got L_s " + shortWindow + ", stretch " + firstStretch
                        + ", iterations " + maxIterations + ", theta0 " + theta0 + ", head size " + headDim + ")");
            }
            if (sampleBudgets.isEmpty() || maxTurns.isEmpty() || sampleBudgets.stream().anyMatch(b -> b < 1)
                    || maxTurns.stream().anyMatch(t -> t < 1)) {
                throw new IllegalArgumentException("sample budgets and turns need at least one positive entry each");
            }
            if (shortTasks.isEmpty() || patience < 0 || stallMs < 0 || shortMargin < 0) {
                throw new IllegalArgumentException("a run needs short tasks for its gate, and patience, stall time and"
                        + " short margin must not be negative");
            }
            return new LoopSettings(runId, shortWindow, firstStretch, maxIterations, sampleBudgets, samplesPerStep, maxTurns,
                    theta0, headDim, thetaRule, shortMargin, promoteBest, patience, stallMs, shortTasks, threshold,
                    baseVersion, baseUri);
        }
    }
}
