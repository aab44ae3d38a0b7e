package dev.longpo.loop;

import dev.longpo.avro.EvalResult;

/**
 * Where an evaluation score belongs: a task at a prompt length, over all needle depths ({@code depth}
 * null) or at one depth (the heatmap's cells).
 */
public record EvalKey(String task, int length, Double depth) {
    /** The key of a task at a length over all depths. */
    public static EvalKey of(String task, int length) {
        return new EvalKey(task, length, null);
    }

    /** The key of an evaluation result. */
    public static EvalKey of(EvalResult r) {
        return new EvalKey(r.getTask(), r.getLength(), r.getDepth());
    }

    /** True for a score over all depths. */
    public boolean overall() {
        return depth == null;
    }
}
