package dev.longpo.tasks;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import dev.longpo.model.AdamW;
import dev.longpo.model.ChatFormat;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.Scorer;
import dev.longpo.model.Tensors;
import dev.longpo.model.TokenBatch;
import dev.longpo.text.ByteTokenizer;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Trains the short-context base model pi_S from scratch: supervised answers over a weighted mix of
 * the task suite (loss on answer tokens, plus {@code lmWeight} times the language-model loss on every
 * token, which grows the induction heads retrieval needs), with prompts of random length up to the short window
 * and needles at random depths. Deterministic for a seed (data order and initialisation).
 */
public final class Pretrainer {
    /** Settings of a pretraining run. */
    public record Settings(int window, int steps, int batchSize, double lr, long seed, int evalEvery, double lmWeight,
                           Map<String, Double> mix) {
        /** The mix used for the committed pi_S. */
        public static Map<String, Double> defaultMix() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("niah_single", 0.20);
            m.put("niah_single_word", 0.07);
            m.put("niah_single_uuid", 0.07);
            m.put("niah_multikey", 0.12);
            m.put("niah_multivalue", 0.06);
            m.put("niah_multiquery", 0.06);
            m.put("vt", 0.08);
            m.put("qa", 0.08);
            m.put("write_question", 0.12);
            m.put("short_math", 0.14);
            return m;
        }
    }

    /** Progress of one step. */
    public record StepLog(int step, double loss, double lr, double seconds) {
    }

    private final LlamaModel model;
    private final Settings s;
    private final ChatFormat fmt = new ChatFormat(ByteTokenizer.INSTANCE);
    private final Random rnd;

    public Pretrainer(LlamaModel model, Settings settings) {
        this.model = model;
        this.s = settings;
        this.rnd = new Random(settings.seed());
    }

    /** One training example: a task instance sized to a random length within the window. */
    TaskInstance sample() {
        double u = rnd.nextDouble();
        String task = null;
        double acc = 0;
        double total = s.mix().values().stream().mapToDouble(Double::doubleValue).sum();
        for (Map.Entry<String, Double> e : s.mix().entrySet()) {
            acc += e.getValue() / total;
            if (u <= acc) {
                task = e.getKey();
                break;
            }
        }
        if (task == null) {
            task = s.mix().keySet().iterator().next();
        }
        int len = 40 + rnd.nextInt(Math.max(1, s.window() - 40 + 1));
        return Tasks.get(task).generate(len, rnd.nextDouble(), rnd);
    }

    /** Runs every step; calls {@code eval} every {@code evalEvery} steps and at the end. */
    public List<StepLog> run(PrintStream log, java.util.function.IntConsumer eval) {
        List<StepLog> logs = new ArrayList<>();
        model.setTrainable(true);
        try (AdamW opt = new AdamW(model, new AdamW.Settings(s.lr(), 0.9, 0.95, 1e-8, 0.01, 1.0,
                Math.max(1, s.steps() / 20), s.steps(), 0.05))) {
            long t0 = System.nanoTime();
            double ema = Double.NaN;
            for (int step = 1; step <= s.steps(); step++) {
                List<int[]> rows = new ArrayList<>();
                List<boolean[]> marks = new ArrayList<>();
                for (int b = 0; b < s.batchSize(); b++) {
                    TaskInstance t = sample();
                    ChatFormat.Sequence seq = fmt.conversation(t.context(), List.of(t.question()),
                            List.of(ByteTokenizer.INSTANCE.encode(t.answer())));
                    rows.add(seq.tokens());
                    marks.add(seq.answer());
                }
                double loss;
                try (NDScope scope = new NDScope(); NDManager m = model.manager().newSubManager();
                     GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    TokenBatch batch = TokenBatch.of(rows, ByteTokenizer.PAD);
                    NDArray lp = Scorer.nextTokenLogProbs(model, batch.tokens(m));
                    NDArray mask = batch.targetMask(m, marks);
                    NDArray valid = batch.validMask(m);
                    NDArray nll = lp.mul(mask).sum().neg().div(mask.sum());
                    NDArray lm = lp.mul(valid).sum().neg().div(valid.sum());
                    gc.backward(nll.add(lm.mul(Tensors.scalar(m, s.lmWeight()))));
                    loss = Tensors.value(nll);
                }
                AdamW.StepInfo info = opt.step();
                ema = Double.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
                double secs = (System.nanoTime() - t0) / 1e9;
                logs.add(new StepLog(step, loss, info.learningRate(), secs));
                if (step % 25 == 0 || step == 1) {
                    log.printf(Locale.ROOT, "step %5d/%d  loss %.4f (ema %.4f)  lr %.2e  %.1f s  %.2f s/step%n", step,
                            s.steps(), loss, ema, info.learningRate(), secs, secs / step);
                }
                if (s.evalEvery() > 0 && (step % s.evalEvery() == 0 || step == s.steps())) {
                    model.setTrainable(false);
                    eval.accept(step);
                    model.setTrainable(true);
                }
            }
        }
        model.setTrainable(false);
        return logs;
    }
}
