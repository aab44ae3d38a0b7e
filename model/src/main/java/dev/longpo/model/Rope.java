package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding in the Hugging Face Llama layout: pair {@code (i, i + d/2)} of a head
 * vector at position {@code p} is rotated by the angle {@code p * theta^(-2i/d)}. Rotations make
 * {@code q . k} depend only on the distance between the two positions; a larger base theta turns
 * every pair more slowly, which is how LongPO makes longer positions representable.
 */
public final class Rope {
    private Rope() {
    }

    /** Angle of pair {@code i} at position {@code pos}. */
    public static double angle(int pos, int i, int headDim, double theta) {
        return pos / Math.pow(theta, (2.0 * i) / headDim);
    }

    /** cos and sin tables, each [positions.length / t, 1, t, headDim] for rows of {@code t} positions. */
    public static NDArray[] tables(NDManager m, int[][] positions, int headDim, double theta) {
        return tables(m, positions, RopeScaling.DEFAULT.invFreq(headDim, theta, 0, 0), 1.0);
    }

    /**
     * cos and sin tables for the given inverse frequencies (one per pair), both multiplied by
     * {@code factor} (YaRN's attention factor; 1 otherwise), each [rows, 1, t, 2 * invFreq.length].
     */
    public static NDArray[] tables(NDManager m, int[][] positions, double[] invFreq, double factor) {
        int b = positions.length;
        int t = positions[0].length;
        int half = invFreq.length;
        int headDim = 2 * half;
        float[] cos = new float[b * t * headDim];
        float[] sin = new float[b * t * headDim];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < t; j++) {
                int base = (r * t + j) * headDim;
                for (int i = 0; i < half; i++) {
                    double a = positions[r][j] * invFreq[i];
                    float c = (float) (Math.cos(a) * factor);
                    float s = (float) (Math.sin(a) * factor);
                    cos[base + i] = c;
                    cos[base + half + i] = c;
                    sin[base + i] = s;
                    sin[base + half + i] = s;
                }
            }
        }
        Shape shape = new Shape(b, 1, t, headDim);
        return new NDArray[] {Tensors.floats(m, cos, shape), Tensors.floats(m, sin, shape)};
    }

    /** x * cos + rotate_half(x) * sin for x of shape [B, heads, T, headDim]; rotate_half([a, b]) = [-b, a]. */
    public static NDArray apply(NDArray x, NDArray[] tables) {
        int last = x.getShape().dimension() - 1;
        NDList halves = x.split(2, last);
        NDArray rotated = halves.get(1).neg().concat(halves.get(0), last);
        return x.mul(tables[0]).add(rotated.mul(tables[1]));
    }
}
