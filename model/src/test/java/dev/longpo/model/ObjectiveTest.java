package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Loss values against numbers worked out by hand. Shared inputs:
 * pi_c = -10, pi_r = -12, ref_c = -8, ref_r = -15 (short context), ref_c_long = -20, ref_r_long = -11,
 * NLL chosen 2.0, NLL rejected 3.0, beta = 0.1, lambda = 0.5.
 * Then z = (pi_c - pi_r) - (ref_c - ref_r) = 2 - 7 = -5 and beta*z = -0.5.
 */
class ObjectiveTest {
    static final Objective.Hyper H = new Objective.Hyper(0.1, 0.5);

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    private static Objective.Result run(Objective o, NDManager m) {
        return o.compute(H, terms(m));
    }

    private static Objective.Terms terms(NDManager m) {
        return new Objective.Terms(Tensors.scalar(m, -10), Tensors.scalar(m, -12), Tensors.scalar(m, 2.0),
                Tensors.scalar(m, 3.0), -8, -15, -20, -11);
    }

    @Test
    void longpoIsNllPlusLambdaTimesNegLogSigmoidOfBetaZ() {
        try (NDManager m = NDManager.newBaseManager()) {
            Objective.Result r = run(Objective.LONGPO, m);
            double pref = Math.log(1 + Math.exp(0.5)); // -log sigmoid(-0.5) = 0.974077
            assertEquals(0.9740770, pref, 1e-6);
            assertEquals(2.0 + 0.5 * pref, r.metrics().loss(), 1e-5);
            assertEquals(2.4870385, Tensors.value(r.loss()), 1e-5);
            assertEquals(pref, r.metrics().prefLoss(), 1e-6);
            assertEquals(-0.2, r.metrics().rewardChosen(), 1e-9, "beta * (pi_c - ref_c)");
            assertEquals(0.3, r.metrics().rewardRejected(), 1e-9, "beta * (pi_r - ref_r)");
            assertEquals(0.0, r.metrics().accuracy());
            assertEquals(-0.5, r.metrics().margin(), 1e-9);
            assertEquals(2.0, r.metrics().nll(), 1e-9);
        }
    }

    @Test
    void shortReplayAddsItsWeightTimesTheShortNllToAnyObjective() {
        try (NDManager m = NDManager.newBaseManager()) {
            Objective.Terms base = terms(m);
            Objective.Terms withShort = new Objective.Terms(base.piChosen(), base.piRejected(), base.nllChosen(),
                    base.nllRejected(), -8, -15, -20, -11, Tensors.scalar(m, 1.5), null);
            Objective.Hyper replay = new Objective.Hyper(0.1, 0.5, 0.4);
            assertEquals(2.4870385 + 0.4 * 1.5, Tensors.value(Objective.LONGPO.compute(replay, withShort).loss()), 1e-5);
            assertEquals(3.0 + 0.6, Tensors.value(Objective.SFT_REJECTED.compute(replay, withShort).loss()), 1e-5);
            assertEquals(2.4870385, Tensors.value(Objective.LONGPO.compute(H, withShort).loss()), 1e-5,
                    "weight 0 (the paper's method) ignores the short NLL");
            assertThrows(IllegalArgumentException.class, () -> Objective.LONGPO.compute(replay, base),
                    "replay without the short NLL is an error, not a silent no-op");
            assertThrows(IllegalArgumentException.class, () -> new Objective.Hyper(0.1, 0.5, -1));
        }
    }

    @Test
    void theShortAnchorAddsItsWeightTimesTheKlToAnyObjectiveAlongsideReplay() {
        try (NDManager m = NDManager.newBaseManager()) {
            Objective.Terms base = terms(m);
            Objective.Terms withKl = new Objective.Terms(base.piChosen(), base.piRejected(), base.nllChosen(),
                    base.nllRejected(), -8, -15, -20, -11, Tensors.scalar(m, 1.5), Tensors.scalar(m, 0.25));
            Objective.Hyper anchored = new Objective.Hyper(0.1, 0.5).withAnchor(2.0);
            assertEquals(2.4870385 + 2.0 * 0.25, Tensors.value(Objective.LONGPO.compute(anchored, withKl).loss()), 1e-5);
            assertEquals(2.4870385 + 0.4 * 1.5 + 2.0 * 0.25,
                    Tensors.value(Objective.LONGPO.compute(anchored.withReplay(0.4), withKl).loss()), 1e-5);
            assertEquals(3.0 + 0.5, Tensors.value(Objective.SFT_REJECTED.compute(anchored, withKl).loss()), 1e-5);
            assertThrows(IllegalArgumentException.class, () -> Objective.LONGPO.compute(anchored, base),
                    "an anchor weight without the KL is an error, not a silent no-op");
            assertThrows(IllegalArgumentException.class, () -> anchored.withAnchor(-0.1));
        }
    }

    @Test
    void longpoWithoutNllIsThePreferenceTermAlone() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(0.9740770, Tensors.value(run(Objective.LONGPO_NO_NLL, m).loss()), 1e-5);
        }
    }

    @Test
    void dpoUsesTheLongContextReference() {
        try (NDManager m = NDManager.newBaseManager()) {
            Objective.Result r = run(Objective.DPO, m);
            // z = 2 - (-20 + 11) = 11, beta*z = 1.1, loss = log(1 + e^-1.1) = 0.2873353
            assertEquals(0.2873353, Tensors.value(r.loss()), 1e-5);
            assertEquals(1.0, r.metrics().rewardChosen(), 1e-9);
            assertEquals(-0.1, r.metrics().rewardRejected(), 1e-9);
            assertEquals(1.0, r.metrics().accuracy());
            assertEquals(1.1, r.metrics().margin(), 1e-9);
        }
    }

    @Test
    void sftObjectivesAreTheirNll() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(2.0, Tensors.value(run(Objective.SFT_CHOSEN, m).loss()), 1e-6);
            assertEquals(3.0, Tensors.value(run(Objective.SFT_REJECTED, m).loss()), 1e-6);
            assertEquals(3.0, run(Objective.SFT_REJECTED, m).metrics().nll(), 1e-6);
            // 2 + (0.5 / 2) * (0.1 * (-10 + 8))^2 = 2 + 0.25 * 0.04 = 2.01
            assertEquals(2.01, Tensors.value(run(Objective.SFT_CHOSEN_S2L, m).loss()), 1e-6);
        }
    }

    @Test
    void gradientsFlowThroughPolicyTermsWithTheRightSign() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray pc = Tensors.scalar(m, -10);
            NDArray pr = Tensors.scalar(m, -12);
            NDArray nll = Tensors.scalar(m, 2.0);
            pc.setRequiresGradient(true);
            pr.setRequiresGradient(true);
            nll.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                Objective.Result r = Objective.LONGPO.compute(H, new Objective.Terms(pc, pr, nll,
                        Tensors.scalar(m, 3.0), -8, -15, -20, -11));
                gc.backward(r.loss());
            }
            // d/dpi_c of lambda * softplus(-beta z) = -lambda * beta * sigmoid(-beta z) = -0.05 * sigmoid(0.5)
            double s = 1 / (1 + Math.exp(-0.5));
            assertEquals(-0.05 * s, Tensors.value(pc.getGradient()), 1e-6);
            assertEquals(0.05 * s, Tensors.value(pr.getGradient()), 1e-6);
            assertEquals(1.0, Tensors.value(nll.getGradient()), 1e-6);
        }
    }

    @Test
    void negLogSigmoidIsStableAtExtremes() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray one = Tensors.scalar(m, 1);
            assertEquals(1000.0, Tensors.value(Objective.negLogSigmoid(Tensors.scalar(m, -1000), one)), 1e-3);
            assertEquals(0.0, Tensors.value(Objective.negLogSigmoid(Tensors.scalar(m, 1000), one)), 1e-6);
            assertEquals(Math.log(2), Tensors.value(Objective.negLogSigmoid(Tensors.scalar(m, 0), one)), 1e-6);
        }
        assertEquals(1000.0, Objective.negLogSigmoid(-1000), 1e-9);
    }

    @Test
    void unknownObjectiveNamesAreRejected() {
        assertEquals(Objective.SFT_CHOSEN_S2L, Objective.parse("sft-chosen-s2l"));
        assertThrows(IllegalArgumentException.class, () -> Objective.parse("ppo"));
    }
}
