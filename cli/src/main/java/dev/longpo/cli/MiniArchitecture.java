package dev.longpo.cli;

import dev.longpo.model.ModelConfig;
import java.util.Locale;
import picocli.CommandLine.Option;

/** The architecture options of a new mini model (byte tokens), shared by {@code init-model} and {@code pretrain}. */
final class MiniArchitecture {
    @Option(names = "--layers", defaultValue = "4")
    int layers;

    @Option(names = "--hidden", defaultValue = "128")
    int hidden;

    @Option(names = "--heads", defaultValue = "4")
    int heads;

    @Option(names = "--kv-heads", defaultValue = "4")
    int kvHeads;

    @Option(names = "--intermediate", defaultValue = "352", description = "SwiGLU width")
    int intermediate;

    @Option(names = "--rope-theta", defaultValue = "1000000", description = "RoPE base (default: ${DEFAULT-VALUE})")
    double ropeTheta;

    /** The configuration these options describe, with room for positions up to {@code maxPositions}. */
    ModelConfig config(int maxPositions) {
        return ModelConfig.mini(layers, hidden, heads, kvHeads, intermediate, ropeTheta, maxPositions);
    }

    /** The options as they would be typed, for a model card. */
    String commandLine() {
        return String.format(Locale.ROOT, "--layers %d --hidden %d --heads %d --kv-heads %d --intermediate %d --rope-theta %.0f",
                layers, hidden, heads, kvHeads, intermediate, ropeTheta);
    }
}
