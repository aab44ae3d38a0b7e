package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.longpo.text.ChatFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * One multi-turn LongPO sample in token space: the long context, each turn's question, chosen and
 * rejected answer ids (without EOS), the reference log-probs carried from generation time, and each
 * turn's short context (its chunk). {@link #terms} runs the policy over the long chosen and long
 * rejected conversations (one batch of two rows) and returns the differentiable sums the objectives
 * need; with short-context replay it also scores the chosen answers on their chunks.
 */
public record PreferenceSample(String sampleId, String longContext, List<String> questions, List<int[]> chosen,
                               List<int[]> rejected, double refChosen, double refRejected, double refChosenLong,
                               double refRejectedLong, List<String> shortContexts) {

    /** A sample without its turns' short contexts (no short-context replay possible). */
    public PreferenceSample(String sampleId, String longContext, List<String> questions, List<int[]> chosen,
                            List<int[]> rejected, double refChosen, double refRejected, double refChosenLong,
                            double refRejectedLong) {
        this(sampleId, longContext, questions, chosen, rejected, refChosen, refRejected, refChosenLong, refRejectedLong,
                List.of());
    }

    /** The two conversations and which of their tokens are answers. */
    public List<ChatFormat.Sequence> sequences(ChatFormat fmt) {
        return List.of(fmt.conversation(longContext, questions, chosen), fmt.conversation(longContext, questions, rejected));
    }

    /** Tokens in the two sequences (for throughput accounting). */
    public int tokenCount(ChatFormat fmt) {
        return sequences(fmt).stream().mapToInt(ChatFormat.Sequence::length).sum();
    }

    /**
     * Policy terms: summed answer log-probs of both conversations and the mean token NLL of each whole
     * conversation (context, questions and answers; padding excluded), the spec's NLL. Arrays live in {@code m}.
     */
    public Objective.Terms terms(LlamaModel policy, ChatFormat fmt, NDManager m) {
        return terms(policy, fmt, m, false, Objective.NllTokens.SEQUENCE);
    }

    /** Policy terms with the spec's whole-sequence NLL; with {@code shortReplay} as below. */
    public Objective.Terms terms(LlamaModel policy, ChatFormat fmt, NDManager m, boolean shortReplay) {
        return terms(policy, fmt, m, shortReplay, Objective.NllTokens.SEQUENCE);
    }

    /**
     * Policy terms as above; with {@code shortReplay} also the mean NLL of the chosen answers' tokens
     * (EOS included), each turn on its own chunk: {@code chunk + question -> chosen}, the spec's
     * per-turn short sequences, at the policy's current RoPE base. {@code nllTokens} picks the tokens the
     * two NLLs average over (the whole conversation or its answers).
     */
    public Objective.Terms terms(LlamaModel policy, ChatFormat fmt, NDManager m, boolean shortReplay,
                                 Objective.NllTokens nllTokens) {
        return terms(policy, fmt, m, shortReplay, nllTokens, null);
    }

    /**
     * Policy terms as above; with an {@code anchor} model also the mean over every predicted token of the
     * turns' short sequences ({@code chunk + question + chosen}) of KL(anchor || policy) between their
     * next-token distributions, each model at its own current RoPE base.
     */
    public Objective.Terms terms(LlamaModel policy, ChatFormat fmt, NDManager m, boolean shortReplay,
                                 Objective.NllTokens nllTokens, LlamaModel anchor) {
        List<ChatFormat.Sequence> seqs = sequences(fmt);
        List<int[]> rows = new ArrayList<>();
        List<boolean[]> answers = new ArrayList<>();
        for (ChatFormat.Sequence s : seqs) {
            rows.add(s.tokens());
            answers.add(s.answer());
        }
        TokenBatch batch = TokenBatch.of(rows, fmt.tokenizer().pad());
        // log-probs only where a term needs them: the answers, or with the whole-sequence NLL every token
        List<boolean[]> covered = nllTokens == Objective.NllTokens.ANSWERS ? answers : batch.all();
        int[] targets = batch.targets(covered);
        NDArray lp = Scorer.targetLogProbs(policy, batch.tokens(m), targets).expandDims(-1);
        NDArray answerSelector = batch.selector(m, targets, answers);
        NDArray answerSums = answerSelector.matMul(lp).squeeze(-1);
        NDArray coveredSelector = covered == answers ? answerSelector : batch.selector(m, targets, covered);
        NDArray coveredSums = covered == answers ? answerSums : coveredSelector.matMul(lp).squeeze(-1);
        NDArray nll = coveredSums.neg().div(coveredSelector.sum(new int[] {1}));
        NDArray shortNll = shortReplay ? shortChosenNll(policy, fmt, m) : null;
        NDArray shortKl = anchor == null ? null : shortAnchorKl(policy, anchor, fmt, m);
        return new Objective.Terms(answerSums.get(0), answerSums.get(1), nll.get(0), nll.get(1), refChosen, refRejected,
                refChosenLong, refRejectedLong, shortNll, shortKl);
    }

    /** The turns' short sequences {@code chunk + question -> chosen}, one row per turn, and their answer marks. */
    private List<ChatFormat.Sequence> shortSequences(ChatFormat fmt, String purpose) {
        if (shortContexts.size() != questions.size()) {
            throw new IllegalArgumentException("sample " + sampleId + " has no short context for each of its "
                    + questions.size() + " turns: " + purpose + " needs them");
        }
        List<ChatFormat.Sequence> out = new ArrayList<>();
        for (int i = 0; i < questions.size(); i++) {
            out.add(fmt.conversation(shortContexts.get(i), List.of(questions.get(i)), List.of(chosen.get(i))));
        }
        return out;
    }

    private static TokenBatch batch(List<ChatFormat.Sequence> seqs, ChatFormat fmt) {
        return TokenBatch.of(seqs.stream().map(ChatFormat.Sequence::tokens).toList(), fmt.tokenizer().pad());
    }

    /** Mean NLL of the chosen answers given their chunks (one batch of one row per turn). */
    private NDArray shortChosenNll(LlamaModel policy, ChatFormat fmt, NDManager m) {
        List<ChatFormat.Sequence> seqs = shortSequences(fmt, "short-context replay");
        TokenBatch batch = batch(seqs, fmt);
        List<boolean[]> answers = seqs.stream().map(ChatFormat.Sequence::answer).toList();
        return Scorer.targetLogProbs(policy, batch.tokens(m), batch.targets(answers)).mean().neg();
    }

    /** Mean over every predicted token of the short sequences of KL(anchor || policy); the anchor is a constant. */
    private NDArray shortAnchorKl(LlamaModel policy, LlamaModel anchor, ChatFormat fmt, NDManager m) {
        TokenBatch batch = batch(shortSequences(fmt, "the short-context anchor"), fmt);
        NDArray tokens = batch.tokens(m);
        int[] targets = batch.targets(batch.all());
        NDArray q = Scorer.targetDistributions(anchor, tokens, targets).stopGradient();
        NDArray p = Scorer.targetDistributions(policy, tokens, targets);
        return q.exp().mul(q.sub(p)).sum(new int[] {-1}).mean();
    }

    /** This sample's loss under {@code objective}, as one micro-batch of a {@link TrainStep}. */
    public TrainStep.Forward<Objective.Metrics> forward(Objective objective, Objective.Hyper hyper, LlamaModel policy,
                                                        ChatFormat fmt) {
        return forward(objective, hyper, policy, fmt, null);
    }

    /**
     * As above, with the short-context anchor model, which must be given exactly when {@code hyper}
     * weighs the anchor.
     */
    public TrainStep.Forward<Objective.Metrics> forward(Objective objective, Objective.Hyper hyper, LlamaModel policy,
                                                        ChatFormat fmt, LlamaModel anchor) {
        if ((hyper.anchor() > 0) != (anchor != null)) {
            throw new IllegalArgumentException(anchor == null ? "the short-context anchor weight is set but no anchor"
                    + " model is given" : "an anchor model is given but its weight is 0");
        }
        return m -> {
            Objective.Result r = objective.compute(hyper, terms(policy, fmt, m, hyper.replay() > 0, hyper.nllTokens(),
                    anchor));
            return new TrainStep.Loss<>(r.loss(), r.metrics());
        };
    }
}
