package dev.longpo.model;

import ai.djl.Device;

/** Tiny configurations for tests: GQA (4 query heads over 2 key/value heads), two layers. */
final class TinyModels {
    private TinyModels() {
    }

    static ModelConfig config() {
        return ModelConfig.mini(2, 32, 4, 2, 48, 10_000, 512);
    }

    static LlamaModel random(long seed) {
        return LlamaModel.random(config(), Device.cpu(), seed);
    }

    static int[] tokens(int n, long seed) {
        java.util.Random r = new java.util.Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 32 + r.nextInt(90);
        }
        return t;
    }
}
