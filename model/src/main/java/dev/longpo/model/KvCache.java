package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

/**
 * Keys (already rotated) and values of every layer for the tokens seen so far, [B, kvHeads, S, headDim].
 * Owns its arrays in its own manager, so per-step {@link NDScope}s of the caller do not free them.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private int length;

    public KvCache(NDManager parent, int layers) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
    }

    /** Tokens cached so far. */
    public int length() {
        return length;
    }

    /** Appends this step's keys and values of one layer and returns the whole cached keys and values. */
    NDArray[] append(int layer, NDArray k, NDArray v) {
        keys[layer] = grow(keys[layer], k);
        values[layer] = grow(values[layer], v);
        return new NDArray[] {keys[layer], values[layer]};
    }

    /** The cached keys and values of one layer ([B, kvHeads, S, headDim] each), owned by the cache. */
    NDArray[] layer(int layer) {
        return new NDArray[] {keys[layer], values[layer]};
    }

    /**
     * Fills an empty cache with {@code tokens} positions of keys and values for every layer (e.g. rows of a
     * prefix that was computed once for several rows); the cache takes ownership of the arrays.
     */
    void seed(NDArray[] k, NDArray[] v, int tokens) {
        if (length != 0 || k.length != keys.length || v.length != values.length) {
            throw new IllegalStateException("only an empty cache is seeded, with every layer");
        }
        for (int i = 0; i < keys.length; i++) {
            keys[i] = own(k[i]);
            values[i] = own(v[i]);
        }
        length = tokens;
    }

    private NDArray own(NDArray a) {
        a.attach(manager);
        NDScope.unregister(a);
        return a;
    }

    /** Called once per forward pass after every layer appended {@code tokens} positions. */
    void advance(int tokens) {
        length += tokens;
    }

    private NDArray grow(NDArray old, NDArray add) {
        NDArray next = own(old == null ? add.duplicate() : old.concat(add, 2));
        if (old != null) {
            old.close();
        }
        return next;
    }

    @Override
    public void close() {
        manager.close();
    }
}
