package dev.longpo.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Architecture of a Llama/Mistral-style decoder, with the field names of a Hugging Face
 * {@code config.json} so a real checkpoint's config loads as it is.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelConfig(
        @JsonProperty("vocab_size") int vocabSize,
        @JsonProperty("hidden_size") int hiddenSize,
        @JsonProperty("intermediate_size") int intermediateSize,
        @JsonProperty("num_hidden_layers") int numHiddenLayers,
        @JsonProperty("num_attention_heads") int numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
        @JsonProperty("rope_theta") double ropeTheta,
        @JsonProperty("max_position_embeddings") int maxPositionEmbeddings,
        @JsonProperty("rms_norm_eps") double rmsNormEps,
        @JsonProperty("tie_word_embeddings") boolean tieWordEmbeddings,
        @JsonProperty("head_dim") Integer headDimOverride,
        @JsonProperty("model_type") String modelType,
        @JsonProperty("tokenizer") String tokenizer,
        @JsonProperty("original_rope_theta") Double originalRopeTheta) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public ModelConfig {
        if (numKeyValueHeads == null) {
            numKeyValueHeads = numAttentionHeads;
        }
        if (modelType == null) {
            modelType = "llama";
        }
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numAttentionHeads
                    + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
        int hd = headDimOverride != null ? headDimOverride : hiddenSize / numAttentionHeads;
        if (hd % 2 != 0) {
            throw new IllegalArgumentException("head dimension must be even for rotary embeddings, got " + hd);
        }
    }

    /** Per-head dimension. */
    public int headDim() {
        return headDimOverride != null ? headDimOverride : hiddenSize / numAttentionHeads;
    }

    /** The mini model of the demo and tests: byte-level vocabulary, a few million parameters at most. */
    public static ModelConfig mini(int layers, int hidden, int heads, int kvHeads, int intermediate, double theta,
                                   int maxPositions) {
        return new ModelConfig(dev.longpo.text.ByteTokenizer.VOCAB_SIZE, hidden, intermediate, layers, heads, kvHeads,
                theta, maxPositions, 1e-5, true, null, "llama", "byte", null);
    }

    /**
     * The demo's mini model: 4 layers, d=128, 4 heads, SwiGLU width 352, byte tokens (about 0.84M
     * parameters), RoPE base 10,000.
     */
    public static ModelConfig miniDefault() {
        return mini(4, 128, 4, 4, 352, 10_000, 8192);
    }

    /**
     * A copy with another RoPE base (LongPO's enlarged theta1) that remembers the base the weights
     * were first trained at, {@code original_rope_theta}, so a reloaded checkpoint knows how far it
     * was stretched.
     */
    public ModelConfig withRopeTheta(double theta) {
        Double original = originalRopeTheta != null ? originalRopeTheta : theta == ropeTheta ? null : ropeTheta;
        return new ModelConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, theta, maxPositionEmbeddings, rmsNormEps, tieWordEmbeddings, headDimOverride,
                modelType, tokenizer, original);
    }

    /**
     * A copy whose native base is {@code theta}, forgetting any earlier base: for weights about to be
     * trained further at that base (a new pretraining base), unlike {@link #withRopeTheta}, which records
     * a stretch of the base the weights were trained at.
     */
    public ModelConfig rebased(double theta) {
        return new ModelConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, theta, maxPositionEmbeddings, rmsNormEps, tieWordEmbeddings, headDimOverride,
                modelType, tokenizer, null);
    }

    /** The RoPE base of the original (short-context) training. */
    public double nativeRopeTheta() {
        return originalRopeTheta != null ? originalRopeTheta : ropeTheta;
    }

    /**
     * YaRN's attention temperature for a model run at RoPE base {@code theta}: the context stretch the
     * base implies (the inverse of the NTK rule, s = (theta / native)^((d-2)/d)) sharpens the attention
     * logits by (0.1 ln s + 1)^2, which offsets the flatter softmax over more keys. 1 at the native base.
     */
    public double attentionTemperature(double theta) {
        double nativeTheta = nativeRopeTheta();
        if (theta <= nativeTheta) {
            return 1.0;
        }
        double stretch = Math.pow(theta / nativeTheta, (headDim() - 2.0) / headDim());
        double t = 0.1 * Math.log(stretch) + 1;
        return t * t;
    }


    public static ModelConfig read(Path file) throws IOException {
        return JSON.readValue(file.toFile(), ModelConfig.class);
    }

    public void write(Path file) throws IOException {
        AtomicFiles.write(file, JSON.writeValueAsBytes(this));
    }

    /** Number of parameters. */
    public long parameterCount() {
        long d = hiddenSize;
        long kv = (long) numKeyValueHeads * headDim();
        long q = (long) numAttentionHeads * headDim();
        long layer = d * q + 2 * d * kv + q * d + 3 * d * intermediateSize + 2 * d;
        return vocabSize * d * (tieWordEmbeddings ? 1 : 2) + numHiddenLayers * layer + d;
    }
}
