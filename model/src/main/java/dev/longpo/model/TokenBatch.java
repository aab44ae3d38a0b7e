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
