package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Creating tensors from Java data without the use-after-free DJL has on CPU: an array made from
 * Java memory may be freed before autograd's backward reads it, so every such array is copied into
 * torch-owned memory at once ({@code duplicate}) and the Java-backed original closed. Scalars are
 * {@code full} tensors, never {@code mul(Number)}.
 */
public final class Tensors {
    private Tensors() {
    }

    public static NDArray floats(NDManager m, float[] data, Shape shape) {
        try (NDArray tmp = m.create(data, shape)) {
            return tmp.duplicate();
        }
    }

    public static NDArray ints(NDManager m, int[] data, Shape shape) {
        try (NDArray tmp = m.create(data, shape)) {
            return tmp.toType(DataType.INT64, true);
        }
    }

    /** A 0-d float32 tensor owned by torch. */
    public static NDArray scalar(NDManager m, double v) {
        return m.full(new Shape(), (float) v, DataType.FLOAT32);
    }

    /** The single value of a 0-d or 1-element tensor. */
    public static double value(NDArray a) {
        try (NDArray d = a.toType(DataType.FLOAT64, true)) {
            return d.toDoubleArray()[0];
        }
    }
}
