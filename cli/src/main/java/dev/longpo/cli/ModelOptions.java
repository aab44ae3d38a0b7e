package dev.longpo.cli;

import ai.djl.Device;
import dev.longpo.common.LongpoConfig;
import dev.longpo.model.TorchRuntime;

/** Device and threads for commands that run a model, from {@code model.device} and {@code model.threads}. */
final class ModelOptions {
    private ModelOptions() {
    }

    static Device start(LongpoConfig config) {
        TorchRuntime.start(config.getInt("model.threads"));
        return TorchRuntime.device(config.get("model.device"));
    }
}
