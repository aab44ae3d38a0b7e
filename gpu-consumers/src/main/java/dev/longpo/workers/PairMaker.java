package dev.longpo.workers;

import dev.longpo.avro.GenerationRequest;
import dev.longpo.model.Generator;
import dev.longpo.model.LlamaModel;
import dev.longpo.model.ModelStore;
import dev.longpo.model.Scorer;
import dev.longpo.text.ChatFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The model work behind one preference pair, for requests that share theta0 and theta1: chosen =
 * greedy answer from the chunk at theta0, rejected = greedy answer from the long context at theta1,
 * and the reference log-probs of both answers (EOS included) under the same weights on the chunk at
 * theta0 (optionally also on the long context at theta1, DPO's reference).
 */
public final class PairMaker {
    private final ModelStore.Loaded model;
    private final int maxNewTokens;
    private final boolean longReference;
    private final Function<GenerationRequest, String> longContext;

    public PairMaker(ModelStore.Loaded model, int maxNewTokens, boolean longReference,
                     Function<GenerationRequest, String> longContext) {
        this.model = model;
        this.maxNewTokens = maxNewTokens;
        this.longReference = longReference;
        this.longContext = longContext;
    }

    /** Answer ids (without EOS) and reference log-prob sums. */
    public record Made(int[] chosen, int[] rejected, double refChosen, double refRejected, Double refChosenLong,
                       Double refRejectedLong) {
    }

    public List<Made> make(List<GenerationRequest> reqs) {
        LlamaModel m = model.model();
        ChatFormat fmt = ChatFormat.of(model.tokenizer());
        int pad = model.tokenizer().pad();
        Generator.Settings greedy = Generator.Settings.builder().maxNewTokens(maxNewTokens)
                .stopTokens(model.tokenizer().stopTokens()).build();
        List<int[]> shortPrompts = new ArrayList<>();
        List<int[]> longPrompts = new ArrayList<>();
        for (GenerationRequest r : reqs) {
            shortPrompts.add(fmt.prompt(r.getShortContext(), r.getInstruction()));
            longPrompts.add(fmt.prompt(longContext.apply(r), r.getInstruction()));
        }
        double theta0 = reqs.get(0).getTheta0();
        double theta1 = reqs.get(0).getTheta1();
        m.setRopeTheta(theta0);
        List<int[]> chosen = Generator.generate(m, pad, shortPrompts, greedy).stream().map(PairMaker::answerIds).toList();
        m.setRopeTheta(theta1);
        List<int[]> rejected = Generator.generate(m, pad, longPrompts, greedy).stream().map(PairMaker::answerIds).toList();
        List<int[]> chosenEos = chosen.stream().map(fmt::answer).toList();
        List<int[]> rejectedEos = rejected.stream().map(fmt::answer).toList();
        double[] refLongC = longReference ? Scorer.responseLogProbSums(m, pad, longPrompts, chosenEos, 4) : null;
        double[] refLongR = longReference ? Scorer.responseLogProbSums(m, pad, longPrompts, rejectedEos, 4) : null;
        m.setRopeTheta(theta0);
        double[] refC = Scorer.responseLogProbSums(m, pad, shortPrompts, chosenEos, 8);
        double[] refR = Scorer.responseLogProbSums(m, pad, shortPrompts, rejectedEos, 8);
        List<Made> out = new ArrayList<>();
        for (int i = 0; i < reqs.size(); i++) {
            out.add(new Made(chosen.get(i), rejected.get(i), refC[i], refR[i], refLongC == null ? null : refLongC[i],
                    refLongR == null ? null : refLongR[i]));
        }
        return out;
    }

    /** Generated ids without the stop token (the chat format appends EOS when scoring and training). */
    static int[] answerIds(Generator.Output o) {
        int[] t = o.tokens();
        return o.stopped() ? Arrays.copyOf(t, t.length - 1) : t;
    }
}
