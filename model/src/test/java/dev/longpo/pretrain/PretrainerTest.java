package dev.longpo.pretrain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelConfig;
import dev.longpo.model.TorchRuntime;
import dev.longpo.tasks.TaskInstance;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pretraining is deterministic and an interrupted run resumes to exactly the uninterrupted weights. */
class PretrainerTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    private static ModelConfig tiny() {
        return ModelConfig.mini(2, 32, 4, 2, 48, 1e6, 512);
    }

    private static Pretrainer.Settings settings(int steps) {
        return Pretrainer.Settings.builder().setSteps(steps).optWindow(96).optBatchSize(2).optLearningRate(3e-3)
                .optSeed(5).optEvalEvery(1).optCheckpointEvery(3).optMix(Map.of("niah_single", 1.0, "short_caps", 1.0))
                .build();
    }

    @Test
    void aResumedRunEndsWithTheWeightsOfTheUninterruptedRun() throws Exception {
        Map<String, float[]> straight;
        try (LlamaModel m = LlamaModel.random(tiny(), Device.cpu(), 5)) {
            Pretrainer p = new Pretrainer(m, settings(7));
            p.run(null, s -> { });
            p.closeOptimizer();
            straight = m.toArrays();
        }
        Path state = dir.resolve("state");
        try (LlamaModel m = LlamaModel.random(tiny(), Device.cpu(), 5)) {
            Pretrainer p = new Pretrainer(m, settings(7));
            RuntimeException crash = assertThrows(RuntimeException.class, () -> p.run(state, s -> {
                if (s == 4) {
                    throw new IllegalStateException("killed at step 4");
                }
            }));
            assertEquals("killed at step 4", crash.getMessage());
            p.closeOptimizer();
        }
        assertEquals(List.of("step-00000003"), Files.list(state).map(f -> f.getFileName().toString()).toList());
        Pretrainer resumed = Pretrainer.resume(state, Device.cpu(), settings(7)).orElseThrow();
        assertEquals(3, resumed.step());
        try (LlamaModel m = resumed.model()) {
            resumed.run(state, s -> { });
            resumed.closeOptimizer();
            Map<String, float[]> after = m.toArrays();
            for (String k : straight.keySet()) {
                assertArrayEquals(straight.get(k), after.get(k), 1e-6f, k);
            }
        }
    }

    @Test
    void theSameStepDrawsTheSameBatchWhateverCameBefore() {
        try (LlamaModel m = LlamaModel.random(tiny(), Device.cpu(), 1)) {
            Pretrainer p = new Pretrainer(m, settings(3));
            TaskInstance a = p.sample(p.dataRandom(2));
            p.sample(p.dataRandom(1));
            assertEquals(a, p.sample(p.dataRandom(2)));
            p.closeOptimizer();
        }
    }

    @Test
    void settingsAreCheckedWhenBuilt() {
        assertThrows(IllegalArgumentException.class, () -> Pretrainer.Settings.builder().build(), "steps are required");
        assertThrows(IllegalArgumentException.class,
                () -> Pretrainer.Settings.builder().setSteps(5).optMix(Map.of("no_such_task", 1.0)).build());
        assertThrows(IllegalArgumentException.class,
                () -> Pretrainer.Settings.builder().setSteps(5).optMix(Map.of("niah_single", -1.0)).build());
        assertTrue(Pretrainer.Settings.builder().setSteps(5).build().mix().containsKey("short_mc"));
    }

    @Test
    void halfThePromptsFillTheLastQuarterOfTheWindow() {
        try (LlamaModel m = LlamaModel.random(tiny(), Device.cpu(), 1)) {
            Pretrainer p = new Pretrainer(m, Pretrainer.Settings.builder().setSteps(1).optWindow(256).build());
            java.util.Random r = new java.util.Random(3);
            int late = 0;
            for (int i = 0; i < 4000; i++) {
                int len = p.promptLength(r);
                assertTrue(len >= 40 && len <= 256, "length " + len);
                late += len >= 192 ? 1 : 0;
            }
            // half from [192, 256] plus the uniform half's share of it (65 / 217)
            assertEquals(0.5 + 0.5 * 65 / 217.0, late / 4000.0, 0.03);
            p.closeOptimizer();
        }
    }
}
