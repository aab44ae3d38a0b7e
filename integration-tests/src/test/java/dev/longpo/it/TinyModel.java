package dev.longpo.it;

import ai.djl.Device;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelConfig;
import dev.longpo.model.ModelStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A randomly initialised two-layer byte model (d=32, 4096 positions) saved as a model folder: what the tests
 * that exercise the workers' plumbing rather than the model's skill run on, in seconds.
 */
final class TinyModel {
    private TinyModel() {
    }

    /** Writes the model of {@code seed} to {@code dir}; returns its weights' SHA-256. */
    static String save(Path dir, long seed) throws IOException {
        try (LlamaModel m = LlamaModel.random(ModelConfig.mini(2, 32, 4, 2, 48, 10_000, 4096), Device.cpu(), seed)) {
            return ModelStore.save(m, dir, Map.of());
        }
    }
}
