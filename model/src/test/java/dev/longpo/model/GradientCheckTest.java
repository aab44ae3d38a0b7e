package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Whole-model gradients of the LongPO loss against central finite differences. */
class GradientCheckTest {
    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    private static PreferenceSample sample() {
        return new PreferenceSample("s", "The key is 7. Filler filler.", List.of("What is the key?", "Again?"),
                List.of(ByteTokenizer.INSTANCE.encode("7"), ByteTokenizer.INSTANCE.encode("seven")),
                List.of(ByteTokenizer.INSTANCE.encode("9"), ByteTokenizer.INSTANCE.encode("no")), -3.0, -6.0, -4.0, -5.0);
    }

    /** The sample with a chunk per turn (for the short-context terms). */
    private static PreferenceSample sampleWithChunks() {
        PreferenceSample s = sample();
        return new PreferenceSample(s.sampleId(), s.longContext(), s.questions(), s.chosen(), s.rejected(), s.refChosen(),
                s.refRejected(), s.refChosenLong(), s.refRejectedLong(), List.of("The key is 7.", "Key: 7."));
    }

    /** The LongPO loss of {@code s} under {@code h}, with {@code anchor} (null: none). */
    private static NDArray loss(LlamaModel model, Objective.Hyper h, PreferenceSample s, LlamaModel anchor, NDManager m) {
        return Objective.LONGPO.compute(h, s.terms(model, new ChatFormat(ByteTokenizer.INSTANCE), m, h.replay() > 0,
                h.nllTokens(), anchor)).loss();
    }

    private static double lossValue(LlamaModel model, Objective.Hyper h, PreferenceSample s, LlamaModel anchor) {
        JniUtils.setGradMode(false);
        try (NDScope scope = new NDScope(); NDManager m = model.manager().newSubManager()) {
            return Tensors.value(loss(model, h, s, anchor, m));
        } finally {
            JniUtils.setGradMode(true);
        }
    }

    @Test
    void longpoGradientsMatchFiniteDifferences() {
        assertGradientsMatchFiniteDifferences(new Objective.Hyper(0.5, 1.0), sample(), null);
    }

    @Test
    void replayAndAnchorGradientsMatchFiniteDifferences() {
        try (LlamaModel anchor = TinyModels.random(4)) {
            // the anchor's weight makes its KL the largest part of the checked gradients: with 2, a policy side
            // detached from the KL (no anchor gradient at all) still passed within the tolerance
            Objective.Hyper h = new Objective.Hyper(0.5, 1.0, 0.7, Objective.NllTokens.SEQUENCE, 20.0);
            assertGradientsMatchFiniteDifferences(h, sampleWithChunks(), anchor);
        }
    }

    /** Autograd against central differences for the three largest gradient entries of nine parameters. */
    private static void assertGradientsMatchFiniteDifferences(Objective.Hyper h, PreferenceSample s, LlamaModel anchor) {
        try (LlamaModel model = TinyModels.random(3)) {
            model.setRopeTheta(40_000);
            model.setAttentionBlock(16); // several attention blocks in the checked graph
            // sharpen attention so query/key gradients are far from zero and a wrong one cannot pass
            for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
                if (e.getKey().contains("q_proj") || e.getKey().contains("k_proj")) {
                    float[] w = e.getValue().toFloatArray();
                    for (int i = 0; i < w.length; i++) {
                        w[i] *= 12;
                    }
                    e.getValue().set(w);
                }
            }
            model.setTrainable(true);
            try (NDManager m = model.manager().newSubManager();
                 GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(loss(model, h, s, anchor, m));
            }
            String[] names = {"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                "model.layers.0.self_attn.k_proj.weight", "model.layers.1.self_attn.v_proj.weight",
                "model.layers.1.self_attn.o_proj.weight", "model.layers.0.mlp.gate_proj.weight",
                "model.layers.1.mlp.down_proj.weight", "model.layers.0.input_layernorm.weight", "model.norm.weight"};
            List<String> report = new ArrayList<>();
            int checked = 0;
            for (String name : names) {
                NDArray p = model.parameters().get(name);
                float[] grad = p.getGradient().toFloatArray();
                // check the three entries with the largest gradient magnitude
                List<Integer> idx = new ArrayList<>();
                for (int i = 0; i < grad.length; i++) {
                    idx.add(i);
                }
                idx.sort((a, b) -> Float.compare(Math.abs(grad[b]), Math.abs(grad[a])));
                for (int k = 0; k < 3; k++) {
                    int i = idx.get(k);
                    double eps = 1e-2;
                    float[] w = p.toFloatArray();
                    float orig = w[i];
                    w[i] = (float) (orig + eps);
                    p.set(w);
                    double up = lossValue(model, h, s, anchor);
                    w[i] = (float) (orig - eps);
                    p.set(w);
                    double down = lossValue(model, h, s, anchor);
                    w[i] = orig;
                    p.set(w);
                    double fd = (up - down) / (2 * eps);
                    double err = Math.abs(fd - grad[i]);
                    report.add(String.format("%s[%d] autograd %.6f fd %.6f", name, i, grad[i], fd));
                    assertTrue(Math.abs(grad[i]) > 1e-3, "gradient too small to check: " + report.get(report.size() - 1));
                    assertTrue(err <= 2e-4 + 0.02 * Math.abs(grad[i]), String.join("\n", report));
                    checked++;
                }
            }
            assertEquals(27, checked);
        }
    }

    /** Every parameter's gradient of the LongPO loss, through TrainStep's backward (one micro-batch). */
    private static Map<String, float[]> gradients(LlamaModel model, Objective.Hyper h) {
        try (AdamW opt = new AdamW(model, AdamW.Settings.builder().setLearningRate(1e-3).setTotalSteps(1).build())) {
            TrainStep<Objective.Metrics> step = new TrainStep<>(model, opt);
            step.backward(sample().forward(Objective.LONGPO, h, model, new ChatFormat(ByteTokenizer.INSTANCE)), 1.0);
            Map<String, float[]> g = new java.util.LinkedHashMap<>();
            model.parameters().forEach((k, v) -> g.put(k, v.getGradient().toFloatArray()));
            opt.zeroGradients();
            return g;
        }
    }

    @Test
    void recomputedGradientsEqualStoredOnes() {
        Objective.Hyper h = new Objective.Hyper(0.5, 1.0);
        try (LlamaModel model = TinyModels.random(5)) {
            model.setRopeTheta(40_000);
            model.setAttentionBlock(7); // blocks that do not divide the length, several per row
            model.setAttentionCells(1200); // and late blocks shorter than early ones
            Map<String, float[]> stored = gradients(model, h);
            model.setRecompute(true);
            Map<String, float[]> recomputed = gradients(model, h);
            assertTrue(model.recomputedPasses() > 0, "the recomputing backward ran");
            double[] scales = assertSameGradients(stored, recomputed, "stored - recomputed");
            assertTrue(scales[1] > 1e-3, "gradients too small to compare");
        }
    }

    /**
     * Asserts every parameter's gradients agree to 1e-5 + 1e-4 x that parameter's largest |gradient|; returns the
     * smallest and the largest of those per-parameter scales.
     */
    private static double[] assertSameGradients(Map<String, float[]> expected, Map<String, float[]> actual, String what) {
        double smallest = Double.POSITIVE_INFINITY;
        double largest = 0;
        for (Map.Entry<String, float[]> e : expected.entrySet()) {
            float[] a = e.getValue();
            float[] b = actual.get(e.getKey());
            double scale = 0;
            double diff = 0;
            for (int i = 0; i < a.length; i++) {
                scale = Math.max(scale, Math.abs(a[i]));
                diff = Math.max(diff, Math.abs(a[i] - b[i]));
            }
            smallest = Math.min(smallest, scale);
            largest = Math.max(largest, scale);
            assertTrue(diff <= 1e-5 + 1e-4 * scale, e.getKey() + ": max |" + what + "| " + diff + " at gradient scale " + scale);
        }
        return new double[] {smallest, largest};
    }

    /** Sum of log p over the marked targets of two padded rows, by the head-at-targets path or the full logits. */
    private static Map<String, float[]> targetGradients(LlamaModel model, boolean atTargets, double[] value) {
        List<int[]> rows = List.of(ByteTokenizer.INSTANCE.encode("The key is 7. What is the key? 7"),
                ByteTokenizer.INSTANCE.encode("Filler. The key? no"));
        List<boolean[]> marks = new ArrayList<>();
        for (int[] r : rows) {
            boolean[] mk = new boolean[r.length];
            java.util.Arrays.fill(mk, r.length - 3, r.length, true);
            mk[2] = true;
            marks.add(mk);
        }
        model.setTrainable(true);
        try (NDManager m = model.manager().newSubManager();
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            TokenBatch batch = TokenBatch.of(rows, ByteTokenizer.INSTANCE.pad());
            NDArray sum = atTargets
                    ? Scorer.targetLogProbs(model, batch.tokens(m), batch.targets(marks)).sum()
                    : Scorer.nextTokenLogProbs(model, batch.tokens(m)).mul(batch.targetMask(m, marks)).sum();
            value[0] = Tensors.value(sum);
            gc.backward(sum);
            model.backwardRecomputed(gc);
        }
        Map<String, float[]> g = new java.util.LinkedHashMap<>();
        model.parameters().forEach((k, v) -> {
            g.put(k, v.getGradient().toFloatArray());
            v.getGradient().subi(v.getGradient());
        });
        return g;
    }

    @Test
    void logitsAtTheTargetsOnlyGiveTheSameValuesAndGradients() {
        for (boolean recompute : new boolean[] {false, true}) {
            try (LlamaModel model = TinyModels.random(6)) {
                model.setAttentionBlock(8);
                model.setRecompute(recompute);
                double[] full = new double[1];
                double[] at = new double[1];
                Map<String, float[]> a = targetGradients(model, false, full);
                Map<String, float[]> b = targetGradients(model, true, at);
                assertEquals(full[0], at[0], 1e-4 * Math.abs(full[0]), "summed log-probs, recompute " + recompute);
                double[] scales = assertSameGradients(a, b, "full - at targets, recompute " + recompute);
                assertTrue(scales[0] > 0, "a parameter got no gradient");
            }
        }
    }

    @Test
    void noGradientBuildsUpInInference() {
        try (LlamaModel model = TinyModels.random(4)) {
            model.setTrainable(true);
            double a = lossValue(model, new Objective.Hyper(0.1, 0.1), sample(), null);
            for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
                assertTrue(!e.getValue().hasGradient() || Tensors.value(e.getValue().getGradient().abs().sum()) == 0,
                        e.getKey() + " got a gradient from an inference pass");
            }
            assertTrue(Double.isFinite(a));
        }
    }
}
