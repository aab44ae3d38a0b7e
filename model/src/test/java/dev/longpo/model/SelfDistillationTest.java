package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** On-policy self-distillation: its loss against independent scoring, and no pull when teacher = policy. */
class SelfDistillationTest {
    static final ChatFormat FMT = new ChatFormat(ByteTokenizer.INSTANCE);

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    private static PreferenceSample sample(String longContext, List<String> chunks) {
        return new PreferenceSample("s", longContext, List.of("What is the key?", "What is the lock?"),
                List.of(ByteTokenizer.INSTANCE.encode("7"), ByteTokenizer.INSTANCE.encode("3")),
                List.of(ByteTokenizer.INSTANCE.encode("9"), ByteTokenizer.INSTANCE.encode("1")), -3, -6, -4, -5, chunks);
    }

    private static Generator.Settings sampling() {
        return Generator.Settings.builder().maxNewTokens(6).temperature(1.0).seed(3).build();
    }

    @Test
    void theLossIsTheMeanOfTheStoppedLogRatioTimesThePolicyLogProb() {
        PreferenceSample s = sample("Long text. The key is 7. More. The lock is 3. End.", List.of("The key is 7.",
                "The lock is 3."));
        try (LlamaModel policy = TinyModels.random(21); LlamaModel teacher = TinyModels.random(22);
             AdamW opt = new AdamW(policy, AdamW.Settings.builder().setLearningRate(1e-3).setTotalSteps(2).build())) {
            SelfDistillation.Rollout r = SelfDistillation.rollout(s, policy, teacher, 1e4, FMT, sampling());
            List<float[]> p = Scorer.responseLogProbs(policy, ByteTokenizer.PAD, r.prompts(), r.answers(), 2);
            double sum = 0;
            double kl = 0;
            int n = 0;
            for (int i = 0; i < 2; i++) {
                for (int t = 0; t < p.get(i).length; t++) {
                    double d = p.get(i)[t] - r.teacher().get(i)[t];
                    sum += d * p.get(i)[t];
                    kl += d;
                    n++;
                }
            }
            Objective.Metrics m = new TrainStep<Objective.Metrics>(policy, opt).backward(
                    SelfDistillation.forward(r, policy, FMT), 1.0);
            assertEquals(sum / n, m.loss(), 1e-4);
            assertEquals(kl / n, m.prefLoss(), 1e-4, "the reverse-KL estimate");
            assertTrue(Double.isNaN(m.accuracy()), "no reward accuracy without a preference pair");
        }
    }

    @Test
    void aTeacherThatIsThePolicyOnTheSameTextExertsNoPull() {
        String text = "The key is 7. The lock is 3.";
        PreferenceSample s = sample(text, List.of(text, text));
        try (LlamaModel policy = TinyModels.random(23); LlamaModel teacher = policy.copy();
             AdamW opt = new AdamW(policy, AdamW.Settings.builder().setLearningRate(1e-3).setTotalSteps(2).build())) {
            SelfDistillation.Rollout r = SelfDistillation.rollout(s, policy, teacher, policy.ropeTheta(), FMT, sampling());
            Objective.Metrics m = new TrainStep<Objective.Metrics>(policy, opt).backward(
                    SelfDistillation.forward(r, policy, FMT), 1.0);
            assertEquals(0.0, m.loss(), 1e-5);
            double norm = 0;
            for (NDArray param : policy.parameters().values()) {
                try (NDArray g = param.getGradient()) {
                    norm += Tensors.value(g.square().sum());
                }
            }
            assertEquals(0.0, Math.sqrt(norm), 1e-5, "zero weights give a zero gradient");
        }
    }
}
