package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * Right-padded rows of tokens with float masks over next-token positions: entry [b, t] of a mask
 * refers to predicting token t+1 of row b. Masks are constants (no gradient).
 */
public final class TokenBatch {
    private final int rows;
    private final int width;
    private final int[] flat;
    private final int[] lengths;

    private TokenBatch(int rows, int width, int[] flat, int[] lengths) {
        this.rows = rows;
        this.width = width;
        this.flat = flat;
        this.lengths = lengths;
    }

    public static TokenBatch of(List<int[]> rows, int pad) {
        int width = rows.stream().mapToInt(r -> r.length).max().orElseThrow();
        if (width < 2) {
            throw new IllegalArgumentException("every batch needs a row of at least two tokens");
        }
        int[] flat = new int[rows.size() * width];
        java.util.Arrays.fill(flat, pad);
        int[] lengths = new int[rows.size()];
        for (int b = 0; b < rows.size(); b++) {
            System.arraycopy(rows.get(b), 0, flat, b * width, rows.get(b).length);
            lengths[b] = rows.get(b).length;
        }
        return new TokenBatch(rows.size(), width, flat, lengths);
    }

    public int rows() {
        return rows;
    }

    public int width() {
        return width;
    }

    public NDArray tokens(NDManager m) {
        return Tensors.ints(m, flat, new Shape(rows, width));
    }

    /** 1 where the target (token t+1) lies inside the row; 0 on padding. */
    public NDArray validMask(NDManager m) {
        float[] mask = new float[rows * (width - 1)];
        for (int b = 0; b < rows; b++) {
            for (int t = 0; t + 1 < lengths[b]; t++) {
                mask[b * (width - 1) + t] = 1f;
            }
        }
        return Tensors.floats(m, mask, new Shape(rows, width - 1));
    }

    /**
     * Flattened positions ({@code b * width + t}) of the target tokens marked in {@code marks} (one boolean[]
     * per row, over tokens; the first token of a row is never a target), row by row: the order of
     * {@link Scorer#targetLogProbs}'s result.
     */
    public int[] targets(List<boolean[]> marks) {
        int n = 0;
        int[] out = new int[rows * width];
        for (int b = 0; b < rows; b++) {
            boolean[] mk = marks.get(b);
            for (int t = 1; t < lengths[b]; t++) {
                if (mk[t]) {
                    out[n++] = b * width + t;
                }
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("no target token is marked");
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** Marks of every token of each row (all targets: the whole sequence). */
    public List<boolean[]> all() {
        List<boolean[]> out = new java.util.ArrayList<>();
        for (int b = 0; b < rows; b++) {
            boolean[] mk = new boolean[lengths[b]];
            java.util.Arrays.fill(mk, true);
            out.add(mk);
        }
        return out;
    }

    /**
     * [rows, N] 0/1 matrix over {@code targets} (from {@link #targets}): entry [b, i] is 1 when target i
     * lies in row b and is marked in {@code marks}; multiplied by the targets' log-probs it gives each row's sum.
     */
    public NDArray selector(NDManager m, int[] targets, List<boolean[]> marks) {
        float[] sel = new float[rows * targets.length];
        for (int i = 0; i < targets.length; i++) {
            int b = targets[i] / width;
            if (marks.get(b)[targets[i] % width]) {
                sel[b * targets.length + i] = 1f;
            }
        }
        return Tensors.floats(m, sel, new Shape(rows, targets.length));
    }

    /** 1 where the target token is marked in {@code marks} (one boolean[] per row, over tokens). */
    public NDArray targetMask(NDManager m, List<boolean[]> marks) {
        float[] mask = new float[rows * (width - 1)];
        for (int b = 0; b < rows; b++) {
            boolean[] mk = marks.get(b);
            for (int t = 0; t + 1 < lengths[b]; t++) {
                if (mk[t + 1]) {
                    mask[b * (width - 1) + t] = 1f;
                }
            }
        }
        return Tensors.floats(m, mask, new Shape(rows, width - 1));
    }
}
