package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OptimizerTest {
    @TempDir
    Path dir;

    static final ChatFormat FMT = new ChatFormat(ByteTokenizer.INSTANCE);

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    private static PreferenceSample sample(int i) {
        String key = String.valueOf(100 + i * 7);
        return new PreferenceSample("s" + i, "Notes. The key is " + key + ". More notes.", List.of("What is the key?"),
                List.of(ByteTokenizer.INSTANCE.encode(key)), List.of(ByteTokenizer.INSTANCE.encode("unknown")),
                -20, -5, -20, -5);
    }

    /** One optimizer step over the LongPO loss of the given samples (accumulated); returns the mean loss. */
    private static double trainStep(LlamaModel model, AdamW opt, List<PreferenceSample> batch) {
        List<TrainStep.Forward<Objective.Metrics>> micro = new ArrayList<>();
        for (PreferenceSample s : batch) {
            micro.add(s.forward(Objective.LONGPO, new Objective.Hyper(0.1, 0.1), model, FMT));
        }
        return new TrainStep<Objective.Metrics>(model, opt).run(micro).metrics().stream().mapToDouble(Objective.Metrics::loss).average()
                .orElseThrow();
    }

    @Test
    void twoAccumulatedMicroBatchesMakeTheSameUpdateAsTheirMeanInOnePass() {
        Map<String, float[]> accumulated;
        try (LlamaModel model = TinyModels.random(6); AdamW opt = new AdamW(model, settings(1e-3, 1, 10))) {
            trainStep(model, opt, List.of(sample(0), sample(1)));
            accumulated = model.toArrays();
        }
        try (LlamaModel model = TinyModels.random(6); AdamW opt = new AdamW(model, settings(1e-3, 1, 10))) {
            new TrainStep<Void>(model, opt).run(List.of(m -> {
                Objective.Hyper h = new Objective.Hyper(0.1, 0.1);
                NDArray a = Objective.LONGPO.compute(h, sample(0).terms(model, FMT, m)).loss();
                NDArray b = Objective.LONGPO.compute(h, sample(1).terms(model, FMT, m)).loss();
                return new TrainStep.Loss<>(a.add(b).div(Tensors.scalar(m, 2)), null);
            }));
            Map<String, float[]> once = model.toArrays();
            for (String k : once.keySet()) {
                assertArrayEquals(once.get(k), accumulated.get(k), 1e-6f, k);
            }
        }
    }

    /** A caller's checkpoint state. */
    record Offsets(String offsets) {
    }

    /** Adam's usual betas, no decay, clipping at 1, warmup then cosine to 10%. */
    private static AdamW.Settings settings(double lr, long warmup, long total) {
        return AdamW.Settings.builder().setLearningRate(lr).setTotalSteps(total).optBetas(0.9, 0.999)
                .optWarmupSteps(warmup).build();
    }

    @Test
    void settingsAreValidatedWhenBuilt() {
        assertThrows(IllegalArgumentException.class, () -> AdamW.Settings.builder().setTotalSteps(10).build());
        assertThrows(IllegalArgumentException.class, () -> AdamW.Settings.builder().setLearningRate(1e-3).build());
        assertThrows(IllegalArgumentException.class,
                () -> AdamW.Settings.builder().setLearningRate(1e-3).setTotalSteps(10).optBetas(1.0, 0.9).build());
        assertThrows(IllegalArgumentException.class,
                () -> AdamW.Settings.builder().setLearningRate(1e-3).setTotalSteps(10).optMinLrRatio(2).build());
        assertThrows(IllegalArgumentException.class,
                () -> AdamW.Settings.builder().setLearningRate(1e-3).setTotalSteps(10).optFrozen("mlp(").build());
    }

    @Test
    void frozenParametersStayExactlyAsTheyWereWhileTheOthersTrain() {
        String frozen = "model\\.layers\\.\\d+\\.mlp\\..*|model\\.embed_tokens\\.weight";
        try (LlamaModel model = TinyModels.random(3)) {
            model.setTrainable(true);
            Map<String, float[]> before = model.toArrays();
            AdamW.Settings s = AdamW.Settings.builder().setLearningRate(1e-2).setTotalSteps(10).optFrozen(frozen).build();
            try (AdamW opt = new AdamW(model, s)) {
                for (int i = 0; i < 3; i++) {
                    trainStep(model, opt, List.of(sample(i)));
                }
            }
            Map<String, float[]> after = model.toArrays();
            int frozenSeen = 0;
            for (String name : before.keySet()) {
                if (name.contains(".mlp.") || name.equals("model.embed_tokens.weight")) {
                    assertTrue(s.isFrozen(name), name);
                    assertArrayEquals(before.get(name), after.get(name), 0f, name + " is frozen");
                    frozenSeen++;
                } else if (name.endsWith("_proj.weight")) {
                    assertFalse(s.isFrozen(name), name);
                    assertFalse(Arrays.equals(before.get(name), after.get(name)), name + " trains");
                }
            }
            assertEquals(1 + 3 * model.config().numHiddenLayers(), frozenSeen, "the embeddings and three MLP matrices per layer");
        }
    }

    @Test
    void learningRateWarmsUpThenDecaysByCosine() {
        try (LlamaModel model = TinyModels.random(1); AdamW opt = new AdamW(model,
                AdamW.Settings.builder().setLearningRate(1e-3).setTotalSteps(110).optBetas(0.9, 0.999)
                        .optWeightDecay(0.01).optWarmupSteps(10).build())) {
            assertEquals(1e-4, opt.learningRate(1), 1e-12);
            assertEquals(1e-3, opt.learningRate(10), 1e-12);
            assertEquals(1e-3 * (0.1 + 0.9 * 0.5), opt.learningRate(60), 1e-12);
            assertEquals(1e-4, opt.learningRate(110), 1e-12);
            assertEquals(1e-4, opt.learningRate(500), 1e-12);
        }
    }

    @Test
    void stepsLowerTheLossOnAToyTask() {
        try (LlamaModel model = TinyModels.random(2)) {
            model.setTrainable(true);
            try (AdamW opt = new AdamW(model, settings(3e-3, 2, 40))) {
                List<PreferenceSample> batch = List.of(sample(0), sample(1));
                double first = trainStep(model, opt, batch);
                double last = first;
                for (int i = 0; i < 25; i++) {
                    last = trainStep(model, opt, batch);
                }
                assertEquals(26, opt.stepCount());
                assertTrue(last < 0.7 * first, "loss " + first + " -> " + last);
            }
        }
    }

    @Test
    void restoringACheckpointReproducesTheNextStep() throws IOException {
        AdamW.Settings settings = AdamW.Settings.builder().setLearningRate(2e-3).setTotalSteps(20).optBetas(0.9, 0.999)
                .optWeightDecay(0.01).optMaxGradNorm(0.5).optWarmupSteps(2).build();
        Map<String, float[]> expected;
        try (LlamaModel model = TinyModels.random(3)) {
            model.setTrainable(true);
            try (AdamW opt = new AdamW(model, settings)) {
                for (int i = 0; i < 3; i++) {
                    trainStep(model, opt, List.of(sample(i)));
                }
                Checkpoints.save(dir.resolve("ckpt-3"), model, opt, new Offsets("training-samples/0=3"));
                trainStep(model, opt, List.of(sample(3)));
                expected = model.toArrays();
            }
        }
        assertFalse(Files.list(dir).anyMatch(p -> p.getFileName().toString().contains(".tmp")), "no temp left");
        Checkpoints.Restored<Offsets> r = Checkpoints.load(dir.resolve("ckpt-3"), Device.cpu(), settings, Offsets.class);
        try (LlamaModel model = r.model(); AdamW opt = r.optimizer()) {
            assertEquals(3, opt.stepCount());
            assertEquals("training-samples/0=3", r.state().offsets());
            model.setTrainable(true);
            trainStep(model, opt, List.of(sample(3)));
            Map<String, float[]> actual = model.toArrays();
            for (String k : expected.keySet()) {
                assertArrayEquals(expected.get(k), actual.get(k), 1e-7f, k);
            }
        }
        assertThrows(IOException.class, () -> Checkpoints.save(dir.resolve("ckpt-3"), null, null, Map.of()));
    }

    @Test
    void aCorruptCheckpointIsRefused() throws IOException {
        AdamW.Settings settings = settings(1e-3, 1, 10);
        try (LlamaModel model = TinyModels.random(4); AdamW opt = new AdamW(model, settings)) {
            Checkpoints.save(dir.resolve("c"), model, opt, new Offsets(""));
        }
        Path weights = dir.resolve("c/model.safetensors");
        byte[] b = Files.readAllBytes(weights);
        b[b.length - 1] ^= 1;
        Files.write(weights, b);
        IOException e = assertThrows(IOException.class, () -> Checkpoints.load(dir.resolve("c"), Device.cpu(), settings, Offsets.class));
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
    }

    @Test
    void nonFiniteGradientsSkipTheUpdateAndAreCleared() {
        try (LlamaModel model = TinyModels.random(5)) {
            model.setTrainable(true);
            try (AdamW opt = new AdamW(model, settings(1e-3, 1, 10))) {
                Map<String, float[]> before = model.toArrays();
                TrainStep<Void> step = new TrainStep<>(model, opt);
                step.backward(m -> new TrainStep.Loss<>(sample(0).terms(model, FMT, m).nllChosen(), null), Double.NaN);
                AdamW.StepInfo info = step.step();
                assertTrue(info.skipped());
                assertEquals(0, opt.stepCount());
                assertArrayEquals(before.get("model.norm.weight"), model.toArrays().get("model.norm.weight"));
                trainStep(model, opt, List.of(sample(1)));
                assertEquals(1, opt.stepCount(), "the next step is clean");
                for (float v : model.toArrays().get("model.norm.weight")) {
                    assertTrue(Float.isFinite(v));
                }
            }
        }
    }
}
