package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.ChatFormat;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The short-context replay term against an independent path (batched response scoring), the short-context
 * anchor's KL against full logits summed in Java, and the NLL scopes.
 */
class PreferenceSampleTest {
    static final ChatFormat FMT = new ChatFormat(ByteTokenizer.INSTANCE);

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    private static PreferenceSample sample(List<String> chunks) {
        return new PreferenceSample("s", "Long. The key is 7. Filler. The lock is 3. End.", List.of("What is the key?",
                "What is the lock?"), List.of(ByteTokenizer.INSTANCE.encode("7"), ByteTokenizer.INSTANCE.encode("three")),
                List.of(ByteTokenizer.INSTANCE.encode("9"), ByteTokenizer.INSTANCE.encode("no")), -3, -6, -4, -5, chunks);
    }

    @Test
    void theShortNllIsTheMeanNllOfTheChosenAnswersOnTheirOwnChunks() {
        PreferenceSample s = sample(List.of("The key is 7.", "The lock is 3."));
        try (LlamaModel model = TinyModels.random(11)) {
            JniUtils.setGradMode(false);
            double replay;
            try (NDScope scope = new NDScope(); NDManager m = model.manager().newSubManager()) {
                Objective.Terms t = s.terms(model, FMT, m, true);
                replay = Tensors.value(t.nllShort());
                assertNull(s.terms(model, FMT, m).nllShort(), "no replay asked: no short forward pass");
            }
            List<int[]> prompts = new ArrayList<>();
            List<int[]> answers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                prompts.add(FMT.prompt(s.shortContexts().get(i), s.questions().get(i)));
                answers.add(FMT.answer(s.chosen().get(i)));
            }
            double sum = 0;
            int n = 0;
            for (float[] lp : Scorer.responseLogProbs(model, ByteTokenizer.PAD, prompts, answers, 1)) {
                for (float v : lp) {
                    sum -= v;
                    n++;
                }
            }
            assertEquals(2 + 6, n, "'7' and 'three', each with its EOS");
            assertEquals(sum / n, replay, 1e-4);
        }
    }

    @Test
    void theShortAnchorIsTheMeanKlOfTheFullNextTokenDistributionsOverTheShortSequences() {
        PreferenceSample s = sample(List.of("The key is 7.", "The lock is 3."));
        try (LlamaModel policy = TinyModels.random(11); LlamaModel anchor = TinyModels.random(12);
             LlamaModel same = policy.copy()) {
            JniUtils.setGradMode(false);
            double kl;
            double self;
            try (NDScope scope = new NDScope(); NDManager m = policy.manager().newSubManager()) {
                kl = Tensors.value(s.terms(policy, FMT, m, false, Objective.NllTokens.ANSWERS, anchor).klShort());
                self = Tensors.value(s.terms(policy, FMT, m, false, Objective.NllTokens.ANSWERS, same).klShort());
                assertNull(s.terms(policy, FMT, m).klShort(), "no anchor: no KL");
            }
            assertEquals(0, self, 1e-6, "a model's KL to its own copy");
            // independently: full logits of each short row alone (no padding), KL summed in Java
            double sum = 0;
            int n = 0;
            for (int i = 0; i < 2; i++) {
                int[] row = FMT.conversation(s.shortContexts().get(i), List.of(s.questions().get(i)),
                        List.of(s.chosen().get(i))).tokens();
                try (NDScope scope = new NDScope(); NDManager m = policy.manager().newSubManager()) {
                    NDArray tokens = Tensors.ints(m, row, new Shape(1, row.length));
                    float[] p = policy.forward(tokens, null, null).logSoftmax(-1).toFloatArray();
                    float[] q = anchor.forward(tokens, null, null).logSoftmax(-1).toFloatArray();
                    int v = p.length / row.length;
                    for (int t = 0; t + 1 < row.length; t++) {
                        for (int j = 0; j < v; j++) {
                            int at = t * v + j;
                            sum += Math.exp(q[at]) * (q[at] - p[at]);
                        }
                        n++;
                    }
                }
            }
            assertTrue(sum / n > 0.01, "two random models differ: " + sum / n);
            assertEquals(sum / n, kl, 1e-4 * Math.max(1, kl));
        }
    }

    @Test
    void anAnchorWeightNeedsAnAnchorModelAndAModelNeedsAWeight() {
        PreferenceSample s = sample(List.of("The key is 7.", "The lock is 3."));
        try (LlamaModel policy = TinyModels.random(11)) {
            Objective.Hyper none = new Objective.Hyper(0.1, 0.1);
            assertThrows(IllegalArgumentException.class, () -> s.forward(Objective.LONGPO, none.withAnchor(1), policy, FMT));
            assertThrows(IllegalArgumentException.class, () -> s.forward(Objective.LONGPO, none, policy, FMT, policy));
        }
    }

    @Test
    void theAnswersOnlyNllIsTheAnswerLogProbSumOverTheAnswerTokens() {
        PreferenceSample s = sample(List.of());
        try (LlamaModel model = TinyModels.random(13); NDScope scope = new NDScope();
             NDManager m = model.manager().newSubManager()) {
            JniUtils.setGradMode(false);
            Objective.Terms answers = s.terms(model, FMT, m, false, Objective.NllTokens.ANSWERS);
            Objective.Terms sequence = s.terms(model, FMT, m, false, Objective.NllTokens.SEQUENCE);
            assertEquals(-Tensors.value(answers.piChosen()) / (2 + 6), Tensors.value(answers.nllChosen()), 1e-5,
                    "'7' and 'three', each with its EOS");
            assertEquals(-Tensors.value(answers.piRejected()) / (2 + 3), Tensors.value(answers.nllRejected()), 1e-5,
                    "'9' and 'no', each with its EOS");
            assertEquals(Tensors.value(sequence.piChosen()), Tensors.value(answers.piChosen()), 1e-5);
            assertNotEquals(Tensors.value(sequence.nllChosen()), Tensors.value(answers.nllChosen()), 1e-3,
                    "the whole-sequence NLL also covers the document and the questions");
        }
    }

    @Test
    void replayWithoutShortContextsIsRefused() {
        PreferenceSample s = sample(List.of());
        try (LlamaModel model = TinyModels.random(12); NDScope scope = new NDScope();
             NDManager m = model.manager().newSubManager()) {
            assertThrows(IllegalArgumentException.class, () -> s.terms(model, FMT, m, true));
        }
    }
}
