package dev.longpo.cli;

import dev.longpo.common.LongpoConfig;
import dev.longpo.pretrain.PretrainJob;
import dev.longpo.pretrain.Pretrainer;
import dev.longpo.workers.ModelRoles;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo pretrain}: trains the short-context base model pi_S from scratch on the task suite at
 * the short window (resumable: run it again with the same arguments after an interruption), then
 * evaluates it at L_s/2 .. 16 L_s and writes the model with its model card ({@link PretrainJob}).
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Train the mini short-context model pi_S from scratch and write its model card.")
final class PretrainCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--out", required = true, description = "model directory to write")
    Path out;

    @Option(names = "--window", description = "short window L_s in tokens (default: loop.short.window)")
    Integer window;

    @Option(names = "--steps", defaultValue = "1500")
    int steps;

    @Option(names = "--batch", defaultValue = "16")
    int batch;

    @Option(names = "--lr", defaultValue = "2e-3")
    double lr;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Option(names = "--lm-weight", defaultValue = "0.1", description = "weight of the language-model loss on all tokens")
    double lmWeight;

    @Mixin
    MiniArchitecture arch;

    @Option(names = "--init", description = "continue from this model directory instead of a random initialisation")
    Path init;

    @Option(names = "--mix", split = ",", description = "task=weight,... (default: the committed pi_S's mix)")
    Map<String, Double> mix;

    @Option(names = "--card-note", description = "text added to the model card (e.g. how the initial model was made)")
    String cardNote;

    @Option(names = "--eval-every", defaultValue = "250", description = "steps between progress evaluations")
    int evalEvery;

    @Option(names = "--checkpoint-every", defaultValue = "250", description = "steps between resumable states")
    int checkpointEvery;

    @Option(names = "--state", description = "folder of the resumable state (default: .longpo/pretrain/<out name>)")
    Path state;

    @Option(names = "--eval-samples", defaultValue = "20", description = "instances per task and length in the final evaluation")
    int evalSamples;

    @Override
    public Integer call() throws Exception {
        LongpoConfig config = options.load();
        int window = this.window != null ? this.window : config.getInt("loop.short.window");
        Pretrainer.Settings.Builder b = Pretrainer.Settings.builder().setSteps(steps).optWindow(window).optBatchSize(batch)
                .optLearningRate(lr).optSeed(seed).optLmWeight(lmWeight).optEvalEvery(evalEvery)
                .optCheckpointEvery(checkpointEvery);
        if (mix != null) {
            b.optMix(mix);
        }
        Pretrainer.Settings ps = b.build();
        String command = String.format(Locale.ROOT, "longpo pretrain --window %d --steps %d --batch %d --lr %s --seed %d"
                        + " --lm-weight %s %s%s%s", window, steps, batch, lr, seed, lmWeight, arch.commandLine(),
                init != null ? " --init " + init : "", mix != null ? " --mix " + mixText(ps.mix()) : "");
        Path stateDir = state != null ? state
                : config.getPath("pretrain.state.dir").resolve(out.toAbsolutePath().getFileName().toString());
        PretrainJob.Made made = PretrainJob.run(new PretrainJob.Spec(arch.config(16_384), ps, init, out, stateDir, evalSamples, command,
                cardNote), ModelRoles.device(config));
        System.out.println(made.report().tableText());
        System.out.println(made.report().heatmapText());
        System.out.println("wrote " + out + " (model, MODEL_CARD.md, eval.json, heatmap.png)");
        return 0;
    }

    private static String mixText(Map<String, Double> mix) {
        StringBuilder sb = new StringBuilder();
        mix.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ",").append(k).append('=').append(v));
        return sb.toString();
    }
}
