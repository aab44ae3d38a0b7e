package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RopeTest {
    static final int D = 16;

    @BeforeAll
    static void engine() {
        TorchRuntime.inferenceThread();
    }

    private static float[] rotate(NDManager m, float[] v, int pos, double theta) {
        NDArray x = Tensors.floats(m, v, new Shape(1, 1, 1, D));
        return Rope.apply(x, Rope.tables(m, new int[][] {{pos}}, D, theta)).toFloatArray();
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static float[] random(Random r) {
        float[] v = new float[D];
        for (int i = 0; i < D; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    @Test
    void dotProductDependsOnlyOnRelativePosition() {
        Random r = new Random(1);
        try (NDManager m = NDManager.newBaseManager()) {
            for (int trial = 0; trial < 5; trial++) {
                float[] q = random(r);
                float[] k = random(r);
                double base = dot(rotate(m, q, 17, 1e4), rotate(m, k, 5, 1e4));
                for (int shift : new int[] {1, 100, 3000}) {
                    assertEquals(base, dot(rotate(m, q, 17 + shift, 1e4), rotate(m, k, 5 + shift, 1e4)), 2e-3);
                }
                assertNotEquals(base, dot(rotate(m, q, 18, 1e4), rotate(m, k, 5, 1e4)), 1e-3);
            }
        }
    }

    @Test
    void eachPairTurnsByPositionTimesThetaToTheMinusTwoIOverD() {
        try (NDManager m = NDManager.newBaseManager()) {
            for (double theta : new double[] {1e4, 1.6e5}) {
                for (int i = 0; i < D / 2; i++) {
                    float[] e = new float[D];
                    e[i] = 1f; // the pair is (i, i + D/2): rotating (1, 0) gives (cos a, sin a)
                    float[] out = rotate(m, e, 37, theta);
                    double angle = Math.atan2(out[i + D / 2], out[i]);
                    double expected = Rope.angle(37, i, D, theta);
                    double wrapped = Math.IEEEremainder(expected, 2 * Math.PI);
                    assertEquals(wrapped, angle, 1e-4, "pair " + i + " theta " + theta);
                }
            }
        }
    }

    @Test
    void positionZeroIsUnrotatedAndALargerThetaTurnsHigherPairsLess() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] v = random(new Random(2));
            float[] at0 = rotate(m, v, 0, 5e5);
            for (int i = 0; i < D; i++) {
                assertEquals(v[i], at0[i], 1e-6);
            }
        }
        assertEquals(Rope.angle(100, 0, D, 1e4), Rope.angle(100, 0, D, 1e6), 0, "pair 0 turns at rate 1 for any theta");
        for (int i = 1; i < D / 2; i++) {
            double ratio = Rope.angle(100, i, D, 1e4 * 16) / Rope.angle(100, i, D, 1e4);
            assertEquals(Math.pow(16, -2.0 * i / D), ratio, 1e-12);
        }
    }

    @Test
    void changingThetaOnALoadedModelChangesItsOutput() {
        try (LlamaModel model = TinyModels.random(21); NDManager m = model.manager().newSubManager()) {
            NDArray tokens = Tensors.ints(m, TinyModels.tokens(20, 1), new Shape(1, 20));
            float[] a = model.forward(tokens, null, null).toFloatArray();
            model.setRopeTheta(1e6);
            float[] b = model.forward(tokens, null, null).toFloatArray();
            assertEquals(1e6, model.config().ropeTheta());
            double diff = 0;
            for (int i = 0; i < a.length; i++) {
                diff = Math.max(diff, Math.abs(a[i] - b[i]));
            }
            assertNotEquals(0.0, diff);
            // the first token sees only itself at position 0: unaffected by theta
            for (int v = 0; v < a.length / 20; v++) {
                assertEquals(a[v], b[v], 1e-5);
            }
        }
    }

    @Test
    void yarnTemperatureFollowsTheStretchTheBaseImpliesAndSurvivesACheckpoint() throws Exception {
        ModelConfig c = ModelConfig.mini(1, 32, 1, 1, 16, 1e4, 4096); // head dim 32
        assertEquals(1.0, c.attentionTemperature(1e4), 0.0);
        assertEquals(1.0, c.attentionTemperature(5e3), 0.0, "no sharpening below the native base");
        double theta8 = 1e4 * Math.pow(8, 32 / 30.0); // the NTK-aware base for 8x at head size 32
        double t = 0.1 * Math.log(8) + 1;
        assertEquals(t * t, c.attentionTemperature(theta8), 1e-9, "NTK base for 8x implies a stretch of 8");
        ModelConfig stretched = c.withRopeTheta(theta8);
        assertEquals(1e4, stretched.nativeRopeTheta(), 0.0);
        assertEquals(t * t, stretched.attentionTemperature(theta8), 1e-9, "a checkpoint at theta1 keeps its temperature");
        assertEquals(1e4, stretched.withRopeTheta(2 * theta8).nativeRopeTheta(), 0.0);
        java.nio.file.Path f = java.nio.file.Files.createTempFile("config", ".json");
        stretched.write(f);
        assertEquals(stretched, ModelConfig.read(f));
        assertEquals(null, c.withRopeTheta(1e4).originalRopeTheta(), "an unchanged base records nothing");
    }
}
