package dev.longpo.pretrain;

import ai.djl.Device;
import dev.longpo.env.Machine;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelAnswerer;
import dev.longpo.model.ModelConfig;
import dev.longpo.model.ModelStore;
import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.ReportWriter;
import dev.longpo.text.ByteTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole making of a pi_S, behind {@code longpo pretrain}: a fresh model (or one to continue from),
 * the resumable {@link Pretrainer} run with a progress evaluation every so often, then the full evaluation
 * at L_s/2 .. 16 L_s and the model folder with its model card, evaluation files and heatmap. Interrupted,
 * it is started again with the same arguments and resumes from its last state.
 */
public final class PretrainJob {
    private static final Logger LOG = LoggerFactory.getLogger(PretrainJob.class);
    /** Tasks of the progress evaluation during training. */
    static final List<String> PROGRESS_TASKS = List.of("niah_single", "niah_multikey", "qa", "write_question", "short_mc",
            "short_caps");

    /** What to make: the architecture, the run, where its state lives, and what the card should say. */
    public record Spec(ModelConfig architecture, Pretrainer.Settings settings, Path init, Path out, Path stateDir,
                       int evalSamples, String command, String note) {
    }

    /** What was made. */
    public record Made(String version, String sha256, double trainSeconds, Evaluator.Report report) {
    }

    private PretrainJob() {
    }

    /** Trains (or resumes), evaluates and writes the model folder. */
    public static Made run(Spec spec, Device device) throws IOException {
        Pretrainer.Settings ps = spec.settings();
        Pretrainer trainer = Pretrainer.resume(spec.stateDir(), device, ps).orElse(null);
        if (trainer == null) {
            trainer = new Pretrainer(spec.init() != null ? initial(spec, device) : LlamaModel.random(spec.architecture(),
                    device, ps.seed()), ps);
        }
        LlamaModel model = trainer.model();
        try {
            LOG.info(String.format(Locale.ROOT, "pretraining pi_S%s: %,d parameters, RoPE base %.0f, window %d, steps %d..%d"
                            + " x batch %d, lr %.1e, seed %d", spec.init() != null ? " from " + spec.init() : "",
                    model.config().parameterCount(), model.ropeTheta(), ps.window(), trainer.step() + 1, ps.steps(),
                    ps.batchSize(), ps.lr(), ps.seed()));
            long t0 = System.nanoTime();
            Evaluator.Settings progress = Evaluator.Settings.builder(ps.window()).optSamples(16).optTasks(PROGRESS_TASKS)
                    .optLengths(List.of(ps.window())).build();
            ModelAnswerer answerer = new ModelAnswerer(model, ByteTokenizer.INSTANCE);
            trainer.run(spec.stateDir(), step -> {
                Evaluator.Report r = Evaluator.run(answerer, progress);
                StringJoiner line = new StringJoiner(" ", "eval @" + step + ":", "");
                r.table().forEach((task, row) -> line.add(String.format(Locale.ROOT, "%s %.2f", task,
                        row.values().iterator().next())));
                LOG.info(line.toString());
            });
            double trainSecs = (System.nanoTime() - t0) / 1e9;
            String version = spec.out().getFileName() + "-seed" + ps.seed();
            String sha = ModelStore.save(model, spec.out(), Map.of("model_version", version, "steps",
                    String.valueOf(ps.steps())));
            LOG.info(String.format(Locale.ROOT, "trained in %.0f s (this session); evaluating ...", trainSecs));
            long e0 = System.nanoTime();
            Evaluator.Settings std = Evaluator.Settings.builder(ps.window()).optSamples(spec.evalSamples()).build();
            List<String> tasks = new ArrayList<>(std.tasks());
            tasks.add("write_question");
            Evaluator.Settings es = std.toBuilder().optTasks(tasks).build();
            Evaluator.Report report = Evaluator.run(answerer, es);
            ReportWriter.write(report, version, es.samples(), spec.out());
            Files.writeString(spec.out().resolve("MODEL_CARD.md"), card(spec, version, sha, trainSecs,
                    (System.nanoTime() - e0) / 1e9, report, es, model.config()));
            return new Made(version, sha, trainSecs, report);
        } finally {
            trainer.closeOptimizer();
            model.close();
        }
    }

    /**
     * The model to continue from, at the spec's RoPE base as its new native base (pretraining there
     * re-learns the positions; no attention temperature is applied, as it would be for a stretched base).
     */
    private static LlamaModel initial(Spec spec, Device device) throws IOException {
        try (ModelStore.Loaded loaded = ModelStore.load(spec.init(), device)) {
            double theta = spec.architecture().ropeTheta();
            if (loaded.model().config().ropeTheta() == theta && loaded.model().config().originalRopeTheta() == null) {
                return LlamaModel.fromArrays(loaded.model().config(), device, loaded.model().toArrays());
            }
            LOG.info("continuing from {} (RoPE base {}) at the new base {}", spec.init(), loaded.model().ropeTheta(), theta);
            return LlamaModel.fromArrays(loaded.model().config().rebased(theta), device, loaded.model().toArrays());
        }
    }

    private static String card(Spec spec, String version, String sha, double secs, double evalSecs, Evaluator.Report r,
                               Evaluator.Settings es, ModelConfig mc) {
        Pretrainer.Settings ps = spec.settings();
        StringJoiner mix = new StringJoiner(", ");
        double total = ps.mix().values().stream().mapToDouble(Double::doubleValue).sum();
        ps.mix().forEach((k, v) -> mix.add(String.format(Locale.ROOT, "%s %.0f%%", k, 100 * v / total)));
        String origin = spec.init() == null ? "from a random initialisation (seed " + ps.seed() + ")"
                : "continuing from `" + spec.init() + "`";
        return String.format(Locale.ROOT, """
                # Model card: %s (the mini short-context base model pi_S)

                - **What**: a Llama-style decoder (%d layers, d=%d, %d heads, %d kv heads, SwiGLU %d, byte tokens,
                  vocab %d, RoPE base %.0f), %,d parameters, fp32. Weights: `model.safetensors` (SHA-256 `%s`).
                - **Trained by**: `%s`
                  (AdamW betas 0.9/0.95, weight decay 0.01, 5%% warmup, cosine to 5%%, clip 1.0), %s,
                  on %s; the last session of training took %.0f s.
                - **Data**: generated on the fly by the task suite (`dev.longpo.tasks.Tasks`), prompts of 40..%d
                  tokens (half of them from the window's last quarter), needles at uniform random depths; loss on
                  answer tokens plus the LM loss on every token at weight %s. Answers to retrieval tasks restate the fact found. Mix: %s.
                - **Evaluation**: greedy decoding, %d instances per task and length (single-needle NIAH: %d per
                  depth; short tasks: %d), seed %d, %.0f s. Long-context tasks are scored like RULER (fraction of
                  expected strings present; QA partial match); `short_mc` is 4-way multiple-choice recall of word
                  categories (the MMLU stand-in), `short_caps` writes words in capitals (exact match);
                  `write_question` counts questions that parse and are answerable from the text.
                %s
                ## Scores (task x prompt length in tokens)

                ```
                %s```

                ## Single-needle NIAH, depth x length

                ```
                %s```

                ![heatmap](heatmap.png)
                """, version, mc.numHiddenLayers(), mc.hiddenSize(), mc.numAttentionHeads(), mc.numKeyValueHeads(),
                mc.intermediateSize(), mc.vocabSize(), mc.ropeTheta(), mc.parameterCount(), sha, spec.command(), origin,
                Machine.describe(), secs, ps.window(), ps.lmWeight(), mix, es.samples(), es.samples(), es.shortSamples(), es.seed(),
                evalSecs, spec.note() == null ? "" : "\n" + spec.note() + "\n", r.tableText(), r.heatmapText());
    }
}
