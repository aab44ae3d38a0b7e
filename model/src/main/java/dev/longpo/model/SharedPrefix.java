package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * A plan to prefill once the prompt prefix that rows of a left-padded batch share (the long document
 * before each of its questions): rows are grouped by their longest common prefix with a group's first
 * row; the batch's first {@link #cached()} positions are then computed for one row per group and copied,
 * shifted by the row's extra left padding, into every row's KV cache. Positions count from a row's first
 * real token, so a prefix's rotated keys are the same in every row that has it. The generator then runs
 * only the rest of the prompts (the questions) as a batch.
 */
final class SharedPrefix {
    /** Shorter common prefixes (a chat template's header) are not worth a group. */
    static final int MIN_SHARED = 32;

    private final int cached;
    private final int[] groupOf;
    private final int[] reps;

    private SharedPrefix(int cached, int[] groupOf, int[] reps) {
        this.cached = cached;
        this.groupOf = groupOf;
        this.reps = reps;
    }

    /** Positions of every row that the shared prefill puts in the cache (the window after them is run as a batch). */
    int cached() {
        return cached;
    }

    /** Groups of rows that are prefilled once each. */
    int groups() {
        return reps.length;
    }

    /**
     * The plan for prompts left-padded to {@code width} ({@code leftPad[r] = width - prompts[r].length}), or
     * null where no two rows share at least {@link #MIN_SHARED} tokens and half of the shorter prompt.
     */
    static SharedPrefix plan(List<int[]> prompts, int[] leftPad, int width) {
        int b = prompts.size();
        int[] groupOf = new int[b];
        List<Integer> first = new ArrayList<>();
        List<Integer> share = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            int[] p = prompts.get(r);
            int best = -1;
            int bestLen = 0;
            for (int g = 0; g < first.size(); g++) {
                int l = Math.min(commonPrefix(p, prompts.get(first.get(g))), p.length - 1);
                if (l > bestLen) {
                    best = g;
                    bestLen = l;
                }
            }
            if (best >= 0 && bestLen >= MIN_SHARED && 2 * bestLen >= p.length) {
                groupOf[r] = best;
                share.set(best, Math.min(share.get(best), bestLen));
            } else {
                groupOf[r] = first.size();
                first.add(r);
                share.add(p.length - 1);
            }
        }
        if (first.size() == b) {
            return null;
        }
        // every row needs its prefix up to the common cached length; the group's row with the least
        // padding (the longest prompt) is the one prefilled, the others take its positions shifted
        int cached = width - 1;
        int[] reps = new int[first.size()];
        for (int g = 0; g < reps.length; g++) {
            reps[g] = first.get(g);
        }
        for (int r = 0; r < b; r++) {
            int g = groupOf[r];
            cached = Math.min(cached, leftPad[r] + share.get(g));
            if (leftPad[r] < leftPad[reps[g]]) {
                reps[g] = r;
            }
        }
        return cached < MIN_SHARED ? null : new SharedPrefix(cached, groupOf, reps);
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }

    /**
     * Runs the groups' rows over the first {@link #cached()} positions of {@code flat} ([B, width] row-major)
     * and seeds the empty {@code cache} with every row's keys and values for them.
     */
    void prefill(LlamaModel model, NDManager m, int[] flat, int width, int[] leftPad, KvCache cache) {
        int b = groupOf.length;
        int g = reps.length;
        int[] tokens = new int[g * cached];
        int[] pad = new int[g];
        for (int j = 0; j < g; j++) {
            System.arraycopy(flat, reps[j] * width, tokens, j * cached, cached);
            pad[j] = leftPad[reps[j]];
        }
        int layers = model.config().numHiddenLayers();
        NDArray[] keys = new NDArray[layers];
        NDArray[] values = new NDArray[layers];
        try (KvCache groups = new KvCache(m, layers); NDScope scope = new NDScope()) {
            model.forward(Tensors.ints(m, tokens, new Shape(g, cached)), pad, groups, new int[] {0});
            for (int i = 0; i < layers; i++) {
                NDArray[] kv = groups.layer(i);
                keys[i] = rows(kv[0], leftPad, pad);
                values[i] = rows(kv[1], leftPad, pad);
            }
            cache.seed(keys, values, cached);
        }
    }

    /** Every row's [1, kvH, cached, hd] slice of its group's row, shifted right by its extra padding, as [B, ...]. */
    private NDArray rows(NDArray group, int[] leftPad, int[] groupPad) {
        long[] s = group.getShape().getShape();
        NDList out = new NDList();
        for (int r = 0; r < groupOf.length; r++) {
            int j = groupOf[r];
            NDArray row = group.get(new NDIndex("{}:{}", j, j + 1));
            int shift = leftPad[r] - groupPad[j];
            if (shift >= cached) {
                row = group.getManager().zeros(new Shape(1, s[1], cached, s[3]), group.getDataType());
            } else if (shift > 0) {
                NDArray zeros = group.getManager().zeros(new Shape(1, s[1], shift, s[3]), group.getDataType());
                row = zeros.concat(row.get(new NDIndex(":, :, :{}", cached - shift)), 2);
            }
            out.add(row);
        }
        return NDArrays.concat(out, 0);
    }
}
