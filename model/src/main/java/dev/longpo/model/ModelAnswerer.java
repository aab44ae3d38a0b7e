package dev.longpo.model;

import dev.longpo.tasks.Evaluator;
import dev.longpo.tasks.TaskInstance;
import dev.longpo.text.ChatFormat;
import dev.longpo.text.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * A loaded model as the evaluator's {@link Evaluator.Answerer}: each instance becomes the chat prompt
 * of its context and question, the batch is decoded greedily with a KV cache, and each answer is the
 * text up to the end-of-sequence token. Used by the evaluator worker, {@code longpo eval}, pretraining
 * and the benchmarks, so every one of them scores a model the same way.
 */
public final class ModelAnswerer implements Evaluator.Answerer {
    private final LlamaModel model;
    private final ChatFormat fmt;

    public ModelAnswerer(LlamaModel model, Tokenizer tokenizer) {
        this.model = model;
        this.fmt = ChatFormat.of(tokenizer);
    }

    @Override
    public boolean countsOwnTokens() {
        return !(fmt.tokenizer() instanceof dev.longpo.text.ByteTokenizer);
    }

    /** Prompt tokens of a real tokenizer (task lengths count them); empty for the byte tokenizer, whose tokens are bytes. */
    @Override
    public java.util.OptionalInt promptTokens(TaskInstance instance) {
        if (fmt.tokenizer() instanceof dev.longpo.text.ByteTokenizer) {
            return java.util.OptionalInt.empty();
        }
        return java.util.OptionalInt.of(fmt.prompt(instance.context(), instance.question()).length);
    }

    @Override
    public List<String> answer(List<TaskInstance> instances, int maxNewTokens) {
        List<int[]> prompts = new ArrayList<>();
        for (TaskInstance t : instances) {
            prompts.add(fmt.prompt(t.context(), t.question()));
        }
        Tokenizer tok = fmt.tokenizer();
        List<Generator.Output> gen = Generator.generate(model, tok.pad(), prompts,
                Generator.Settings.builder().maxNewTokens(maxNewTokens).stopTokens(tok.stopTokens()).build());
        return gen.stream().map(o -> fmt.decodeAnswer(o.tokens())).toList();
    }
}
