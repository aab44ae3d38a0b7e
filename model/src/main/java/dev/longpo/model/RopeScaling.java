package dev.longpo.model;

import java.util.Map;
import java.util.Set;

/**
 * The RoPE frequency rules of a Hugging Face {@code rope_scaling} entry, as transformers'
 * {@code modeling_rope_utils} computes them: {@code default}, {@code linear} (every frequency divided
 * by the factor), {@code dynamic} (NTK base grown with the sequence once it passes the original
 * length), {@code yarn} (frequencies blended between interpolation and extrapolation by a ramp over
 * the dimensions, plus an attention factor on cos and sin) and {@code llama3} (Llama 3.1's wavelength
 * bands). Any other type, or a key these rules do not read, is refused.
 *
 * @param type the rule
 * @param factor the context stretch (1 for default)
 * @param originalMax the original context length the rule is relative to (0: the config's
 *     {@code max_position_embeddings})
 */
public record RopeScaling(String type, double factor, int originalMax, double lowFreqFactor, double highFreqFactor,
                          Double attentionFactor, double betaFast, double betaSlow) {

    /** No scaling. */
    public static final RopeScaling DEFAULT = new RopeScaling("default", 1, 0, 0, 0, null, 32, 1);

    private static final Map<String, Set<String>> KEYS = Map.of(
            "default", Set.of(),
            "linear", Set.of("factor"),
            "dynamic", Set.of("factor", "original_max_position_embeddings"),
            "yarn", Set.of("factor", "original_max_position_embeddings", "attention_factor", "beta_fast", "beta_slow"),
            "llama3", Set.of("factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor"));

    /** Parses a {@code rope_scaling} map (null: no scaling); refuses unknown types and keys. */
    public static RopeScaling parse(Map<String, Object> map) {
        if (map == null) {
            return DEFAULT;
        }
        Object t = map.containsKey("rope_type") ? map.get("rope_type") : map.get("type");
        String type = t == null ? "default" : t.toString();
        Set<String> allowed = KEYS.get(type);
        if (allowed == null) {
            throw new UnsupportedModelException("rope_scaling type '" + type + "' is not supported (supported: "
                    + String.join(", ", new java.util.TreeSet<>(KEYS.keySet())) + ")");
        }
        for (String k : map.keySet()) {
            if (!k.equals("rope_type") && !k.equals("type") && !allowed.contains(k)) {
                throw new UnsupportedModelException("rope_scaling key '" + k + "' is not supported for type '"
                        + type + "'");
            }
        }
        double factor = number(map, "factor", type.equals("default") ? 1.0 : Double.NaN, type);
        int original = (int) number(map, "original_max_position_embeddings", type.equals("llama3") ? Double.NaN : 0,
                type);
        double low = number(map, "low_freq_factor", type.equals("llama3") ? Double.NaN : 0, type);
        double high = number(map, "high_freq_factor", type.equals("llama3") ? Double.NaN : 0, type);
        Object af = map.get("attention_factor");
        Double attention = af == null ? null : ((Number) af).doubleValue();
        return new RopeScaling(type, factor, original, low, high, attention, number(map, "beta_fast", 32, type),
                number(map, "beta_slow", 1, type));
    }

    private static double number(Map<String, Object> map, String key, double fallback, String type) {
        Object v = map.get(key);
        if (v == null) {
            if (Double.isNaN(fallback)) {
                throw new IllegalArgumentException("rope_scaling of type '" + type + "' needs " + key);
            }
            return fallback;
        }
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException("rope_scaling " + key + " must be a number, got " + v);
        }
        return n.doubleValue();
    }

    /**
     * Inverse frequencies of the {@code headDim / 2} rotary pairs at base {@code theta}.
     *
     * @param seqLen the length the positions of this forward pass reach (only {@code dynamic} reads it)
     * @param maxPositions the config's {@code max_position_embeddings}
     */
    public double[] invFreq(int headDim, double theta, int seqLen, int maxPositions) {
        int half = headDim / 2;
        int original = originalMax > 0 ? originalMax : maxPositions;
        double base = theta;
        if (type.equals("dynamic") && seqLen > original) {
            base = theta * Math.pow(factor * seqLen / original - (factor - 1), headDim / (headDim - 2.0));
        }
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(base, (2.0 * i) / headDim);
        }
        switch (type) {
            case "linear" -> {
                for (int i = 0; i < half; i++) {
                    inv[i] /= factor;
                }
            }
            case "yarn" -> yarn(inv, headDim, theta, original);
            case "llama3" -> llama3(inv);
            default -> {
            }
        }
        return inv;
    }

    private void yarn(double[] inv, int headDim, double theta, int original) {
        double low = Math.max(Math.floor(correctionDim(betaFast, headDim, theta, original)), 0);
        double high = Math.min(Math.ceil(correctionDim(betaSlow, headDim, theta, original)), headDim - 1);
        if (low == high) {
            high += 0.001;
        }
        for (int i = 0; i < inv.length; i++) {
            double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
            double extrapolation = 1 - ramp;
            inv[i] = inv[i] / factor * (1 - extrapolation) + inv[i] * extrapolation;
        }
    }

    private static double correctionDim(double rotations, int dim, double base, int maxPositions) {
        return dim * Math.log(maxPositions / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    private void llama3(double[] inv) {
        double lowWavelen = originalMax / lowFreqFactor;
        double highWavelen = originalMax / highFreqFactor;
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowWavelen) {
                inv[i] = inv[i] / factor;
            } else if (wavelen >= highWavelen) {
                double smooth = (originalMax / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
            }
        }
    }

    /** The factor on cos and sin (so on q and k each): YaRN's 0.1 ln(factor) + 1 unless given; else 1. */
    public double cosSinFactor() {
        if (!type.equals("yarn")) {
            return 1.0;
        }
        return attentionFactor != null ? attentionFactor : factor <= 1 ? 1.0 : 0.1 * Math.log(factor) + 1.0;
    }
}
