package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.longpo.env.Cancellation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Autoregressive generation for a batch of prompts of different lengths (left-padded), with a KV
 * cache (or full recomputation, for checking and benchmarks) whose shared prompt prefixes are
 * prefilled once per group of rows ({@link SharedPrefix}), greedy, temperature and top-p sampling,
 * stop tokens and a token budget. Each row samples from its own generator seeded from
 * {@code seed} and the row index, so results do not depend on what else is in the batch.
 */
public final class Generator {
    /** Decoding settings; build with {@link #builder()}. */
    public record Settings(int maxNewTokens, double temperature, double topP, long seed, Set<Integer> stopTokens,
                           boolean useCache, boolean sharePrefix) {
        public static Builder builder() {
            return new Builder();
        }

        /** Fluent builder with greedy decoding, 64 new tokens and the cache on by default. */
        public static final class Builder {
            private int maxNewTokens = 64;
            private double temperature;
            private double topP = 1.0;
            private long seed;
            private Set<Integer> stopTokens = Set.of();
            private boolean useCache = true;
            private boolean sharePrefix = true;

            public Builder maxNewTokens(int n) {
                this.maxNewTokens = n;
                return this;
            }

            /** 0 = greedy. */
            public Builder temperature(double t) {
                this.temperature = t;
                return this;
            }

            public Builder topP(double p) {
                this.topP = p;
                return this;
            }

            public Builder seed(long s) {
                this.seed = s;
                return this;
            }

            public Builder stopTokens(Set<Integer> s) {
                this.stopTokens = Set.copyOf(s);
                return this;
            }

            public Builder useCache(boolean c) {
                this.useCache = c;
                return this;
            }

            /**
             * Whether rows that share a long prompt prefix (a document before its questions) have it
             * prefilled once ({@link SharedPrefix}); on by default, only with the cache.
             */
            public Builder sharePrefix(boolean on) {
                this.sharePrefix = on;
                return this;
            }

            public Settings build() {
                if (maxNewTokens < 1 || temperature < 0 || topP <= 0 || topP > 1) {
                    throw new IllegalArgumentException("invalid generation settings");
                }
                return new Settings(maxNewTokens, temperature, topP, seed, stopTokens, useCache, sharePrefix);
            }
        }
    }

    /** Generated ids of one prompt; when a stop token ended it, that token is the last id. */
    public record Output(int[] tokens, boolean stopped) {
    }

    private Generator() {
    }

    /**
     * Generates for every prompt of the batch. A stop requested on the thread ({@link Cancellation}) ends it
     * between decode steps with a {@link java.util.concurrent.CancellationException}, so a worker asked to
     * stop abandons its batch within one step.
     */
    public static List<Output> generate(LlamaModel model, int pad, List<int[]> prompts, Settings s) {
        TorchRuntime.inferenceThread();
        int b = prompts.size();
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        int[] leftPad = new int[b];
        int[] flat = new int[b * longest];
        Arrays.fill(flat, pad);
        for (int r = 0; r < b; r++) {
            int[] p = prompts.get(r);
            if (p.length == 0) {
                throw new IllegalArgumentException("empty prompt at row " + r);
            }
            leftPad[r] = longest - p.length;
            System.arraycopy(p, 0, flat, r * longest + leftPad[r], p.length);
        }
        Random[] rnd = new Random[b];
        List<List<Integer>> out = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            rnd[r] = new Random(s.seed() * 1_000_003L + r);
            out.add(new ArrayList<>());
        }
        boolean[] done = new boolean[b];
        NDManager base = model.manager();
        try (NDManager gm = base.newSubManager(); KvCache cache = s.useCache()
                ? new KvCache(gm, model.config().numHiddenLayers()) : null) {
            int[] current = flat;
            int width = longest;
            SharedPrefix shared = cache != null && s.sharePrefix() && !model.config().rope().type().equals("dynamic")
                    ? SharedPrefix.plan(prompts, leftPad, longest) : null;
            if (shared != null) {
                shared.prefill(model, gm, flat, longest, leftPad, cache);
                width = longest - shared.cached();
                current = new int[b * width];
                for (int r = 0; r < b; r++) {
                    System.arraycopy(flat, r * longest + shared.cached(), current, r * width, width);
                }
            }
            for (int step = 0; step < s.maxNewTokens(); step++) {
                Cancellation.check("generating, after " + step + " tokens");
                float[] logits;
                try (NDScope scope = new NDScope()) {
                    NDArray in = Tensors.ints(gm, current, new Shape(b, width));
                    int[] last = new int[b];
                    for (int r = 0; r < b; r++) {
                        last[r] = r * width + width - 1;
                    }
                    logits = model.forward(in, leftPad, cache, last).toFloatArray();
                }
                int vocab = logits.length / b;
                int[] next = new int[b];
                for (int r = 0; r < b; r++) {
                    if (done[r]) {
                        next[r] = pad;
                        continue;
                    }
                    int tok = sample(logits, r * vocab, vocab, s, rnd[r]);
                    next[r] = tok;
                    out.get(r).add(tok);
                    if (s.stopTokens().contains(tok)) {
                        done[r] = true;
                    }
                }
                boolean all = true;
                for (boolean d : done) {
                    all &= d;
                }
                if (all) {
                    break;
                }
                if (cache != null) {
                    current = next;
                    width = 1;
                } else {
                    int[] grown = new int[b * (width + 1)];
                    for (int r = 0; r < b; r++) {
                        System.arraycopy(current, r * width, grown, r * (width + 1), width);
                        grown[r * (width + 1) + width] = next[r];
                    }
                    current = grown;
                    width++;
                }
            }
        }
        List<Output> result = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            result.add(new Output(out.get(r).stream().mapToInt(Integer::intValue).toArray(), done[r]));
        }
        return result;
    }

    /** Greedy when temperature is 0, else temperature softmax restricted to the top-p nucleus. */
    static int sample(float[] logits, int off, int vocab, Settings s, Random rnd) {
        if (s.temperature() == 0) {
            int best = 0;
            for (int i = 1; i < vocab; i++) {
                if (logits[off + i] > logits[off + best]) {
                    best = i;
                }
            }
            return best;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double[] p = new double[vocab];
        double z = 0;
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp((logits[off + i] - max) / s.temperature());
            z += p[i];
        }
        Integer[] idx = new Integer[vocab];
        for (int i = 0; i < vocab; i++) {
            idx[i] = i;
            p[i] /= z;
        }
        Arrays.sort(idx, (a, c) -> Double.compare(p[c], p[a]));
        double cum = 0;
        int keep = 0;
        while (keep < vocab && (keep == 0 || cum < s.topP())) {
            cum += p[idx[keep]];
            keep++;
        }
        double u = rnd.nextDouble() * cum;
        for (int k = 0; k < keep; k++) {
            u -= p[idx[k]];
            if (u <= 0) {
                return idx[k];
            }
        }
        return idx[keep - 1];
    }
}
