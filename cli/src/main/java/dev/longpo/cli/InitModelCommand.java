package dev.longpo.cli;

import dev.longpo.common.LongpoConfig;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelConfig;
import dev.longpo.model.ModelStore;
import dev.longpo.workers.ModelRoles;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code longpo init-model}: write a randomly initialised mini model directory (config.json + safetensors). */
@Command(name = "init-model", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Write a randomly initialised mini model (byte tokens) to a directory.")
final class InitModelCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--out", required = true, description = "model directory to create")
    Path out;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Mixin
    MiniArchitecture arch;

    @Override
    public Integer call() throws Exception {
        LongpoConfig config = options.load();
        ModelConfig mc = arch.config(16_384);
        try (LlamaModel model = LlamaModel.random(mc, ModelRoles.device(config), seed)) {
            String sha = ModelStore.save(model, out, Map.of("seed", String.valueOf(seed)));
            System.out.printf("wrote %s: %,d parameters, sha256 %s%n", out, mc.parameterCount(), sha);
        }
        return 0;
    }
}
