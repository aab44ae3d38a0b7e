package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.longpo.text.ChatFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Log-probabilities of token sequences under a model, in float32: the per-position primitive used by
 * training (with gradient) and batched scoring of response spans (without).
 */
public final class Scorer {
    private Scorer() {
    }

    /** log p(token[t+1] | tokens[0..t]) for every row and position: [B, T-1]. Differentiable. */
    public static NDArray nextTokenLogProbs(LlamaModel model, NDArray tokens) {
        long t = tokens.getShape().get(1);
        NDArray logits = model.forward(tokens, null, null);
        NDArray lp = logits.get(new NDIndex(":, :{}, :", t - 1)).logSoftmax(-1);
        logits.close();
        NDArray targets = tokens.get(new NDIndex(":, 1:")).expandDims(-1);
        return lp.gather(targets, -1).squeeze(-1);
    }

    /**
     * log p(token | the tokens before it) for the target tokens at the flattened positions {@code targets}
     * ({@code b * T + t}, t >= 1) of {@code tokens} [B, T], in that order: [N]. Differentiable. The LM head
     * runs only at the positions that predict them ({@link LlamaModel#forward(NDArray, int[], KvCache, int[])}).
     */
    public static NDArray targetLogProbs(LlamaModel model, NDArray tokens, int[] targets) {
        NDArray lp = targetDistributions(model, tokens, targets);
        NDArray ids = tokens.reshape(-1).gather(Tensors.ints(tokens.getManager(), targets, new Shape(targets.length)), 0);
        return lp.gather(ids.expandDims(-1), -1).squeeze(-1);
    }

    /**
     * The next-token log-distributions that predict the target tokens at the flattened positions
     * {@code targets} ({@code b * T + t}, t >= 1) of {@code tokens} [B, T], in that order: [N, V] log-softmax.
     * Differentiable; the LM head runs only at those positions.
     */
    public static NDArray targetDistributions(LlamaModel model, NDArray tokens, int[] targets) {
        long t = tokens.getShape().get(1);
        int[] from = new int[targets.length];
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] % t == 0) {
                throw new IllegalArgumentException("the first token of a row has no prediction (position " + targets[i] + ")");
            }
            from[i] = targets[i] - 1;
        }
        NDArray logits = model.forward(tokens, null, null, from);
        NDArray lp = logits.logSoftmax(-1);
        logits.close();
        return lp;
    }

    /**
     * Per-token log-probabilities of each response given its prompt, batched {@code batchSize} rows
     * at a time (rows sorted by length to limit padding). No gradient.
     */
    public static List<float[]> responseLogProbs(LlamaModel model, int pad, List<int[]> prompts, List<int[]> responses,
                                                 int batchSize) {
        if (prompts.size() != responses.size()) {
            throw new IllegalArgumentException("prompts and responses differ in number");
        }
        TorchRuntime.inferenceThread();
        Integer[] order = new Integer[prompts.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt(i -> prompts.get(i).length + responses.get(i).length));
        float[][] out = new float[prompts.size()][];
        NDManager m = model.manager();
        for (int start = 0; start < order.length; start += batchSize) {
            int end = Math.min(order.length, start + batchSize);
            List<int[]> rows = new ArrayList<>();
            for (int k = start; k < end; k++) {
                rows.add(ChatFormat.concat(prompts.get(order[k]), responses.get(order[k])));
            }
            try (NDScope scope = new NDScope(); NDManager step = m.newSubManager()) {
                TokenBatch batch = TokenBatch.of(rows, pad);
                List<boolean[]> marks = new ArrayList<>();
                for (int k = start; k < end; k++) {
                    boolean[] mark = new boolean[rows.get(k - start).length];
                    Arrays.fill(mark, prompts.get(order[k]).length, mark.length, true);
                    marks.add(mark);
                }
                float[] lp = targetLogProbs(model, batch.tokens(step), batch.targets(marks)).toType(DataType.FLOAT32, false)
                        .toFloatArray();
                int off = 0;
                for (int k = start; k < end; k++) {
                    int r = responses.get(order[k]).length;
                    out[order[k]] = Arrays.copyOfRange(lp, off, off + r);
                    off += r;
                }
            }
        }
        return Arrays.asList(out);
    }

    /** Sum of each response's log-probabilities. */
    public static double[] responseLogProbSums(LlamaModel model, int pad, List<int[]> prompts, List<int[]> responses,
                                               int batchSize) {
        return responseLogProbs(model, pad, prompts, responses, batchSize).stream()
                .mapToDouble(a -> {
                    double s = 0;
                    for (float v : a) {
                        s += v;
                    }
                    return s;
                }).toArray();
    }
}
