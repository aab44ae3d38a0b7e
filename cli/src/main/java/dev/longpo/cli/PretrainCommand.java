package dev.longpo.cli;

import dev.longpo.common.LongpoConfig;
import dev.longpo.model.ChatFormat;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelConfig;
import dev.longpo.model.ModelStore;
import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.Pretrainer;
import dev.longpo.tasks.ReportWriter;
import dev.longpo.tasks.Tasks;
import dev.longpo.text.ByteTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo pretrain}: trains the short-context base model pi_S from scratch on the task suite at
 * the short window, then evaluates it at L_s/2 .. 16 L_s and writes the model with its model card.
 */
@Command(name = "pretrain", description = "Train the mini short-context model pi_S from scratch and write its model card.")
final class PretrainCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--out", required = true, description = "model directory to write")
    Path out;

    @Option(names = "--window", defaultValue = "256", description = "short window L_s in tokens")
    int window;

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

    @Option(names = "--init", description = "continue from this model directory instead of a random initialisation")
    Path init;

    @Option(names = "--mix", split = ",", description = "task=weight,... (default: the committed pi_S's mix)")
    Map<String, Double> mix;

    @Option(names = "--card-note", description = "text added to the model card (e.g. how the initial model was made)")
    String cardNote;

    @Option(names = "--eval-every", defaultValue = "250")
    int evalEvery;

    @Option(names = "--eval-samples", defaultValue = "20", description = "instances per task and length in the final evaluation")
    int evalSamples;

    @Override
    public Integer call() throws Exception {
        LongpoConfig config = options.load();
        ModelConfig mc = ModelConfig.miniDefault();
        long t0 = System.nanoTime();
        try (LlamaModel model = init != null ? ModelStore.load(init, ModelOptions.start(config)).model()
                : LlamaModel.random(mc, ModelOptions.start(config), seed)) {
            ChatFormat fmt = new ChatFormat(ByteTokenizer.INSTANCE);
            Pretrainer.Settings ps = new Pretrainer.Settings(window, steps, batch, lr, seed, evalEvery, lmWeight,
                    mix != null ? new java.util.LinkedHashMap<>(mix) : Pretrainer.Settings.defaultMix());
            System.out.printf(Locale.ROOT, "pretraining pi_S%s: %,d parameters, window %d, %d steps x batch %d, lr %.1e, seed %d%n",
                    init != null ? " from " + init : "", mc.parameterCount(), window, steps, batch, lr, seed);
            new Pretrainer(model, ps).run(System.out, step -> {
                StringBuilder sb = new StringBuilder("  eval @" + step + ":");
                for (String task : List.of("niah_single", "niah_multikey", "vt", "write_question", "short_math")) {
                    Random r = new Random(99);
                    var inst = java.util.stream.IntStream.range(0, 16)
                            .mapToObj(i -> Tasks.get(task).generate(window, i / 15.0, r)).toList();
                    double[] sc = Evaluator.score(model, fmt, inst, 16);
                    sb.append(String.format(Locale.ROOT, " %s %.2f", task, java.util.Arrays.stream(sc).average().orElse(0)));
                }
                System.out.println(sb);
            });
            double trainSecs = (System.nanoTime() - t0) / 1e9;
            String version = "pi_S-seed" + seed;
            String sha = ModelStore.save(model, out, Map.of("model_version", version, "steps", String.valueOf(steps)));
            System.out.printf(Locale.ROOT, "trained in %.0f s; evaluating ...%n", trainSecs);
            long e0 = System.nanoTime();
            Evaluator.Settings std = Evaluator.Settings.standard(window, evalSamples);
            java.util.List<String> tasks = new java.util.ArrayList<>(std.tasks());
            tasks.add("write_question");
            Evaluator.Settings es = std.withTasks(tasks);
            Evaluator.Report report = Evaluator.run(model, ByteTokenizer.INSTANCE, es);
            ReportWriter.write(report, version, es.samples(), out);
            System.out.println(report.tableText());
            System.out.println(report.heatmapText());
            String card = card(mc, ps, version, sha, trainSecs, (System.nanoTime() - e0) / 1e9, report, es);
            if (init != null) {
                card = card.replace("), from scratch,", "), continuing from the initial model named below,");
            }
            if (init != null || cardNote != null) {
                card = card.replace("\n## Scores", "\n- **Initialised from**: " + (init != null ? "`" + init + "`" : "random")
                        + (cardNote != null ? ". " + cardNote : "") + "\n\n## Scores");
            }
            Files.writeString(out.resolve("MODEL_CARD.md"), card);
            System.out.println("wrote " + out + " (model, MODEL_CARD.md, eval.json, heatmap.png)");
        }
        return 0;
    }

    private static String card(ModelConfig mc, Pretrainer.Settings ps, String version, String sha, double secs,
                               double evalSecs, Evaluator.Report r, Evaluator.Settings es) {
        StringBuilder mix = new StringBuilder();
        ps.mix().forEach((k, v) -> mix.append(String.format(Locale.ROOT, "%s %.0f%%, ", k, v * 100)));
        return String.format(Locale.ROOT, """
                # Model card: %s (the mini short-context base model pi_S)

                - **What**: a Llama-style decoder (%d layers, d=%d, %d heads, %d kv heads, SwiGLU %d, byte tokens,
                  vocab %d, RoPE base %.0f), %,d parameters, fp32. Weights: `model.safetensors` (SHA-256 `%s`).
                - **Trained by**: `longpo pretrain --window %d --steps %d --batch %d --lr %s --seed %d --lm-weight %s`
                  (AdamW betas 0.9/0.95, weight decay 0.01, 5%% warmup, cosine to 5%%, clip 1.0), from scratch,
                  on this 2-core CPU machine in %.0f s.
                - **Data**: generated on the fly by the task suite (`dev.longpo.tasks.Tasks`), prompts of 40..%d
                  tokens, needles at uniform random depths; loss on answer tokens plus the LM loss on every token
                  at the weight above. Answers to retrieval tasks restate the fact found. Mix: %s
                - **Evaluation**: greedy decoding, %d instances per task and length (single-needle NIAH: %d per
                  depth), seed %d, %.0f s. Long-context tasks are scored like RULER (fraction of expected strings
                  present; QA partial match); `short_math` is 4-way multiple-choice addition (the MMLU stand-in);
                  `write_question` counts questions that parse and are answerable from the text.

                ## Scores (task x prompt length in tokens)

                ```
                %s```

                ## Single-needle NIAH, depth x length

                ```
                %s```

                ![heatmap](heatmap.png)

                Within the short window the model answers; beyond it the scores collapse. That collapse is
                what LongPO has to repair.
                """, version, mc.numHiddenLayers(), mc.hiddenSize(), mc.numAttentionHeads(), mc.numKeyValueHeads(),
                mc.intermediateSize(), mc.vocabSize(), mc.ropeTheta(), mc.parameterCount(), sha, ps.window(), ps.steps(),
                ps.batchSize(), ps.lr(), ps.seed(), ps.lmWeight(), secs, ps.window(), mix.substring(0, mix.length() - 2), es.samples(),
                es.samples(), es.seed(), evalSecs, r.tableText(), r.heatmapText());
    }
}
