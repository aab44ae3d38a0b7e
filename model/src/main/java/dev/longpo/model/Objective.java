package dev.longpo.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import java.util.Locale;

/**
 * LongPO and the paper's ablation baselines as plain functions of summed log-probabilities (see
 * {@code longpo-spec.md}, "Loss"). For one multi-turn sample:
 * <ul>
 *   <li>{@code piChosen}, {@code piRejected}: policy log-prob of all answer tokens of the long chosen /
 *       long rejected sequence (theta1), summed over tokens and turns, differentiable;</li>
 *   <li>{@code nllChosen}, {@code nllRejected}: mean token NLL of the long sequence's answers (or of the whole
 *       sequence, {@link NllTokens}), differentiable;</li>
 *   <li>{@code refChosen}, {@code refRejected}: the frozen pi_S on the short contexts (theta0), constants;</li>
 *   <li>{@code refChosenLong}, {@code refRejectedLong}: pi_S on the long context (DPO's reference).</li>
 * </ul>
 * Rewards are {@code beta * (pi - ref)} against the objective's reference; accuracy is
 * {@code reward_chosen > reward_rejected}; margin is their difference.
 */
public enum Objective {
    /** NLL(long chosen) + lambda * -log sigmoid(beta * z), z against the short-context reference. */
    LONGPO,
    /** -log sigmoid(beta * z) alone (no NLL term). */
    LONGPO_NO_NLL,
    /** NLL of the long chosen sequence. */
    SFT_CHOSEN,
    /** NLL of the long rejected sequence. */
    SFT_REJECTED,
    /** -log sigmoid(beta * z) with the reference pi_S on the long context. */
    DPO,
    /**
     * SFT on chosen with the short-to-long constraint: NLL(long chosen) + lambda * (beta * (pi_c - ref_c))^2 / 2,
     * a squared log-ratio penalty that keeps the policy's long-context likelihood of the chosen answer near
     * pi_S's short-context likelihood (our reading of the paper's ablation; no rejected answer is used).
     */
    SFT_CHOSEN_S2L;

    /**
     * Which tokens the NLL terms average over: the answers alone (the official code, whose labels mask every
     * token outside the assistant turns), or the whole long sequence (document, questions and answers), as
     * the spec's text reads it.
     */
    public enum NllTokens {
        /** Every token of the long conversation except padding. */
        SEQUENCE,
        /** The answer tokens (EOS included) only: the official code's labels. */
        ANSWERS;

        public static NllTokens parse(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown NLL token scope '" + name + "': sequence or answers");
            }
        }
    }

    /**
     * Hyper-parameters: the spec's beta (official script 0.01) and lambda (0.01), the weight of
     * short-context replay (0: the paper's method): {@code replay} times the NLL of the chosen answers
     * on their own chunks is added to every objective's loss, an option that anchors the short window;
     * which tokens the NLL terms cover; and the weight of the short-context anchor (0: none):
     * {@code anchor} times the mean KL(anchor model || policy) of the next-token distributions over every
     * token of the turns' short sequences, which holds the whole in-window distribution, not only the
     * answers, to a fixed model's (restoration distillation, after LongReD, arXiv 2502.07365).
     */
    public record Hyper(double beta, double lambda, double replay, NllTokens nllTokens, double anchor) {
        public Hyper {
            if (!(beta > 0) || lambda < 0 || replay < 0 || anchor < 0) {
                throw new IllegalArgumentException("beta must be positive, lambda and the replay and anchor weights not"
                        + " negative");
            }
            if (nllTokens == null) {
                throw new IllegalArgumentException("the NLL token scope must be given");
            }
        }

        /** No short-context anchor. */
        public Hyper(double beta, double lambda, double replay, NllTokens nllTokens) {
            this(beta, lambda, replay, nllTokens, 0);
        }

        /** The spec's NLL over the whole sequence, with replay weight {@code replay}. */
        public Hyper(double beta, double lambda, double replay) {
            this(beta, lambda, replay, NllTokens.SEQUENCE);
        }

        /** The paper's method: no replay, NLL over the whole sequence. */
        public Hyper(double beta, double lambda) {
            this(beta, lambda, 0);
        }

        /** These hyper-parameters with another replay weight. */
        public Hyper withReplay(double weight) {
            return new Hyper(beta, lambda, weight, nllTokens, anchor);
        }

        /** These hyper-parameters with another anchor weight. */
        public Hyper withAnchor(double weight) {
            return new Hyper(beta, lambda, replay, nllTokens, weight);
        }
    }

    /**
     * Inputs of one sample; the NDArrays are 0-d and carry the autograd graph. {@code nllShort} (the
     * chosen answers' NLL on their chunks) is present only when replay is asked for, {@code klShort} (the
     * anchor's mean KL on the short sequences) only with an anchor.
     */
    public record Terms(NDArray piChosen, NDArray piRejected, NDArray nllChosen, NDArray nllRejected, double refChosen,
                        double refRejected, double refChosenLong, double refRejectedLong, NDArray nllShort,
                        NDArray klShort) {
        /** Terms without the short-context NLL and KL. */
        public Terms(NDArray piChosen, NDArray piRejected, NDArray nllChosen, NDArray nllRejected, double refChosen,
                     double refRejected, double refChosenLong, double refRejectedLong) {
            this(piChosen, piRejected, nllChosen, nllRejected, refChosen, refRejected, refChosenLong, refRejectedLong, null,
                    null);
        }
    }

    /** What is logged per sample. */
    public record Metrics(double loss, double nll, double prefLoss, double rewardChosen, double rewardRejected,
                          double accuracy, double margin) {
    }

    /** The differentiable loss and its metrics. */
    public record Result(NDArray loss, Metrics metrics) {
    }

    public static Objective parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown objective '" + name + "'; one of "
                    + java.util.Arrays.toString(values()));
        }
    }

    /** -log sigmoid(x) = softplus(-x), computed stably as relu(-x) + log(1 + exp(-|x|)). */
    static NDArray negLogSigmoid(NDArray x, NDArray one) {
        return Activation.relu(x.neg()).add(x.abs().neg().exp().add(one).log());
    }

    /** Java twin of {@link #negLogSigmoid} for metrics and tests. */
    public static double negLogSigmoid(double x) {
        return Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    public Result compute(Hyper h, Terms t) {
        NDManager m = t.piChosen().getManager();
        NDArray beta = Tensors.scalar(m, h.beta());
        NDArray lambda = Tensors.scalar(m, h.lambda());
        NDArray one = Tensors.scalar(m, 1.0);
        boolean longRef = this == DPO;
        double refC = longRef ? t.refChosenLong() : t.refChosen();
        double refR = longRef ? t.refRejectedLong() : t.refRejected();
        if (Double.isNaN(refC) || Double.isNaN(refR)) {
            throw new IllegalArgumentException(this + " needs reference log-probs" + (longRef ? " on the long context" : ""));
        }
        NDArray refMargin = Tensors.scalar(m, refC - refR);
        NDArray z = t.piChosen().sub(t.piRejected()).sub(refMargin);
        NDArray pref = negLogSigmoid(z.mul(beta), one);
        NDArray objective = switch (this) {
            case LONGPO -> t.nllChosen().add(pref.mul(lambda));
            case LONGPO_NO_NLL, DPO -> pref;
            case SFT_CHOSEN -> t.nllChosen();
            case SFT_REJECTED -> t.nllRejected();
            case SFT_CHOSEN_S2L -> {
                NDArray r = t.piChosen().sub(Tensors.scalar(m, refC)).mul(beta);
                yield t.nllChosen().add(r.square().mul(Tensors.scalar(m, 0.5 * h.lambda())));
            }
        };
        NDArray loss = objective;
        if (h.replay() > 0) {
            if (t.nllShort() == null) {
                throw new IllegalArgumentException("short-context replay needs the chosen answers' NLL on their chunks");
            }
            loss = loss.add(t.nllShort().mul(Tensors.scalar(m, h.replay())));
        }
        if (h.anchor() > 0) {
            if (t.klShort() == null) {
                throw new IllegalArgumentException("the short-context anchor needs the anchor model's KL on the short"
                        + " sequences");
            }
            loss = loss.add(t.klShort().mul(Tensors.scalar(m, h.anchor())));
        }
        double pc = Tensors.value(t.piChosen());
        double pr = Tensors.value(t.piRejected());
        double rc = h.beta() * (pc - refC);
        double rr = h.beta() * (pr - refR);
        double nll = Tensors.value(this == SFT_REJECTED ? t.nllRejected() : t.nllChosen());
        return new Result(loss, new Metrics(Tensors.value(loss), nll, negLogSigmoid(rc - rr), rc, rr,
                rc > rr ? 1.0 : 0.0, rc - rr));
    }
}
