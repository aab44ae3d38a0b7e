package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.longpo.text.ChatFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * On-policy self-distillation for long contexts (after OPSDL, arXiv 2604.17535), an extension beside
 * LongPO's objectives: the policy answers each turn's question from the long context (sampled, on
 * policy), the frozen pi_S scores those very tokens given only the turn's chunk, and the policy is
 * moved by the per-token reverse KL to that short-context teacher. Its gradient, estimated at the
 * sampled tokens, is {@code sum_t (log p_t - log q_t) grad log p_t}: the loss
 * {@code mean_t sg(log p_t - log q_t) * log p_t}, with {@code p} the policy on the long context and
 * {@code q} pi_S on the chunk.
 */
public final class SelfDistillation {
    private SelfDistillation() {
    }

    /** The policy's answers for one sample's turns and the teacher's log-prob of each of their tokens. */
    public record Rollout(List<int[]> prompts, List<int[]> answers, List<float[]> teacher) {
    }

    /**
     * Samples the policy's answer to every turn of {@code s} from the long context (at the policy's
     * current base), then scores each answer (EOS included when it stopped) under {@code teacher} on the
     * turn's chunk at {@code teacherTheta}.
     */
    public static Rollout rollout(PreferenceSample s, LlamaModel policy, LlamaModel teacher, double teacherTheta,
                                  ChatFormat fmt, Generator.Settings sampling) {
        if (s.shortContexts().size() != s.questions().size()) {
            throw new IllegalArgumentException("self-distillation needs each turn's chunk (sample " + s.sampleId() + ")");
        }
        List<int[]> longPrompts = new ArrayList<>();
        List<int[]> shortPrompts = new ArrayList<>();
        for (int i = 0; i < s.questions().size(); i++) {
            longPrompts.add(fmt.prompt(s.longContext(), s.questions().get(i)));
            shortPrompts.add(fmt.prompt(s.shortContexts().get(i), s.questions().get(i)));
        }
        Generator.Settings g = Generator.Settings.builder().maxNewTokens(sampling.maxNewTokens())
                .temperature(sampling.temperature()).topP(sampling.topP()).seed(sampling.seed()).stopTokens(fmt.tokenizer().stopTokens())
                .build();
        List<int[]> answers = Generator.generate(policy, fmt.tokenizer().pad(), longPrompts, g).stream()
                .map(Generator.Output::tokens).toList();
        double before = teacher.ropeTheta();
        teacher.setRopeTheta(teacherTheta);
        try {
            List<float[]> q = Scorer.responseLogProbs(teacher, fmt.tokenizer().pad(), shortPrompts, answers, answers.size());
            return new Rollout(longPrompts, answers, q);
        } finally {
            teacher.setRopeTheta(before);
        }
    }

    /**
     * The loss of one rollout as a micro-batch: its metrics report the reverse-KL estimate
     * {@code mean_t (log p_t - log q_t)} as the preference-loss field and {@code -mean_t log p_t} as the NLL;
     * rewards, accuracy and margin do not apply and are NaN.
     */
    public static TrainStep.Forward<Objective.Metrics> forward(Rollout r, LlamaModel policy, ChatFormat fmt) {
        return m -> {
            List<int[]> rows = new ArrayList<>();
            List<boolean[]> marks = new ArrayList<>();
            for (int i = 0; i < r.answers().size(); i++) {
                int[] row = ChatFormat.concat(r.prompts().get(i), r.answers().get(i));
                boolean[] mark = new boolean[row.length];
                Arrays.fill(mark, r.prompts().get(i).length, row.length, true);
                rows.add(row);
                marks.add(mark);
            }
            TokenBatch batch = TokenBatch.of(rows, fmt.tokenizer().pad());
            int[] targets = batch.targets(marks);
            NDArray teacher = teacher(m, r);
            if (teacher.size() != targets.length) {
                throw new IllegalStateException("the teacher scored " + teacher.size() + " answer tokens, the rollout has "
                        + targets.length);
            }
            NDArray lp = Scorer.targetLogProbs(policy, batch.tokens(m), targets);
            NDArray weight = lp.stopGradient().sub(teacher);
            NDArray loss = weight.mul(lp).mean();
            double kl = Tensors.value(weight.mean());
            double nll = -Tensors.value(lp.mean());
            return new TrainStep.Loss<>(loss, new Objective.Metrics(Tensors.value(loss), nll, kl, Double.NaN, Double.NaN,
                    Double.NaN, Double.NaN));
        };
    }

    /** The teacher's log-probs of the answer tokens, row after row: the order of the policy's targets. */
    private static NDArray teacher(NDManager m, Rollout r) {
        int n = r.teacher().stream().mapToInt(q -> q.length).sum();
        float[] flat = new float[n];
        int off = 0;
        for (float[] q : r.teacher()) {
            System.arraycopy(q, 0, flat, off, q.length);
            off += q.length;
        }
        return Tensors.floats(m, flat, new Shape(n));
    }
}
