package dev.longpo.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Architecture of a Llama, Mistral or Qwen2 decoder with the field names of a Hugging Face
 * {@code config.json}, so a real checkpoint's config loads as it is. Absent keys take the defaults of
 * transformers' config class for the {@code model_type}; keys this implementation does not model are
 * kept in {@link #extras()} and written back unchanged, so a saved checkpoint stays a complete Hugging
 * Face directory. A config whose math this implementation does not compute (another architecture,
 * another activation, mixture of experts, logit soft-capping, an unknown RoPE type, ...) is refused by
 * {@link #read} with one line naming the key, never run with the wrong math.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("rms_norm_eps") Double rmsNormEps,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings,
        @JsonProperty("head_dim") Integer headDimOverride,
        @JsonProperty("model_type") String modelType,
        @JsonProperty("tokenizer") String tokenizer,
        @JsonProperty("original_rope_theta") Double originalRopeTheta,
        @JsonProperty("rope_scaling") Map<String, Object> ropeScaling,
        @JsonProperty("sliding_window") Integer slidingWindow,
        @JsonProperty("use_sliding_window") Boolean useSlidingWindow,
        @JsonProperty("max_window_layers") Integer maxWindowLayers,
        @JsonProperty("layer_types") List<String> layerTypes,
        @JsonProperty("attention_bias") Boolean attentionBias,
        @JsonProperty("mlp_bias") Boolean mlpBias,
        @JsonProperty("hidden_act") String hiddenAct,
        @JsonIgnore Map<String, Object> extras) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The families whose forward pass this implementation computes as transformers does. */
    public static final List<String> SUPPORTED = List.of("llama", "mistral", "qwen2");

    /**
     * Keys that change the math of a forward pass in ways not implemented here, with the value that
     * means "off" (null: the key must be absent or null).
     */
    private static final Map<String, Object> UNSUPPORTED_KEYS = unsupportedKeys();

    private static Map<String, Object> unsupportedKeys() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("partial_rotary_factor", 1.0);
        m.put("attn_logit_softcapping", null);
        m.put("final_logit_softcapping", null);
        m.put("query_pre_attn_scalar", null);
        m.put("num_experts", 0);
        m.put("num_local_experts", 0);
        m.put("n_routed_experts", 0);
        m.put("num_experts_per_tok", null);
        m.put("moe_intermediate_size", null);
        m.put("use_qk_norm", false);
        m.put("qk_layernorm", false);
        m.put("embedding_multiplier", 1.0);
        m.put("residual_multiplier", 1.0);
        m.put("attention_multiplier", null);
        m.put("logits_scaling", 1.0);
        m.put("no_rope_layers", null);
        m.put("use_parallel_residual", null);
        return m;
    }

    private static final Set<String> MODELLED = Set.of("vocab_size", "hidden_size", "intermediate_size",
            "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "rope_theta",
            "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings", "head_dim", "model_type", "tokenizer",
            "original_rope_theta", "rope_scaling", "sliding_window", "use_sliding_window", "max_window_layers",
            "layer_types", "attention_bias", "mlp_bias", "hidden_act");

    public ModelConfig {
        if (modelType == null) {
            modelType = "llama";
        }
        if (!SUPPORTED.contains(modelType)) {
            throw new UnsupportedModelException("model_type '" + modelType + "' is not supported (supported: "
                    + String.join(", ", SUPPORTED) + ")");
        }
        if (hiddenAct != null && !"silu".equals(hiddenAct)) {
            throw new UnsupportedModelException("hidden_act '" + hiddenAct + "' is not supported (only silu)");
        }
        // transformers' defaults of LlamaConfig / MistralConfig / Qwen2Config for absent keys
        boolean mistral = "mistral".equals(modelType);
        boolean qwen = "qwen2".equals(modelType);
        vocabSize = orDefault(vocabSize, qwen ? 151_936 : 32_000);
        hiddenSize = orDefault(hiddenSize, 4096);
        intermediateSize = orDefault(intermediateSize, mistral ? 14_336 : qwen ? 22_016 : 11_008);
        numHiddenLayers = orDefault(numHiddenLayers, 32);
        numAttentionHeads = orDefault(numAttentionHeads, 32);
        numKeyValueHeads = orDefault(numKeyValueHeads, mistral ? 8 : numAttentionHeads);
        ropeTheta = orDefault(ropeTheta, 10_000.0);
        maxPositionEmbeddings = orDefault(maxPositionEmbeddings, mistral ? 131_072 : qwen ? 32_768 : 2048);
        rmsNormEps = orDefault(rmsNormEps, 1e-6);
        tieWordEmbeddings = orDefault(tieWordEmbeddings, false);
        extras = extras == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(extras));
        if (!(ropeTheta > 0)) {
            throw new IllegalArgumentException("rope_theta must be positive, got " + ropeTheta);
        }
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numAttentionHeads
                    + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
        int hd = headDimOverride != null ? headDimOverride : hiddenSize / numAttentionHeads;
        if (hd % 2 != 0) {
            throw new IllegalArgumentException("head dimension must be even for rotary embeddings, got " + hd);
        }
        if (layerTypes != null) {
            for (String t : layerTypes) {
                if (!"full_attention".equals(t) && !"sliding_attention".equals(t)) {
                    throw new UnsupportedModelException("layer_types entry '" + t + "' is not supported");
                }
            }
            if (layerTypes.size() != numHiddenLayers) {
                throw new IllegalArgumentException("layer_types has " + layerTypes.size() + " entries for "
                        + numHiddenLayers + " layers");
            }
        }
        RopeScaling.parse(ropeScaling);
    }

    private static <T> T orDefault(T value, T fallback) {
        return value != null ? value : fallback;
    }

    /** Per-head dimension. */
    public int headDim() {
        return headDimOverride != null ? headDimOverride : hiddenSize / numAttentionHeads;
    }

    /** The RoPE frequency rule of {@code rope_scaling} (the plain rule when absent). */
    public RopeScaling rope() {
        return RopeScaling.parse(ropeScaling);
    }

    /** Whether q, k and v projections carry biases (Qwen2 always; Llama with {@code attention_bias}). */
    public boolean qkvBias() {
        return "qwen2".equals(modelType) || Boolean.TRUE.equals(attentionBias);
    }

    /** Whether the output projection carries a bias (Llama with {@code attention_bias}). */
    public boolean outputBias() {
        return "llama".equals(modelType) && Boolean.TRUE.equals(attentionBias);
    }

    /** Whether the MLP projections carry biases (Llama with {@code mlp_bias}). */
    public boolean mlpBiases() {
        return "llama".equals(modelType) && Boolean.TRUE.equals(mlpBias);
    }

    /**
     * The sliding attention window of layer {@code layer} (a query sees the keys less than this many
     * positions behind it), or 0 for full causal attention: Mistral's {@code sliding_window} on every
     * layer (MistralConfig's 4096 when the key is absent from a config.json, none when it is null); Qwen2's only with {@code use_sliding_window}, from {@code max_window_layers} on, or as
     * {@code layer_types} says.
     */
    public int window(int layer) {
        if (layerTypes != null) {
            return "sliding_attention".equals(layerTypes.get(layer)) && slidingWindow != null ? slidingWindow : 0;
        }
        return switch (modelType) {
            case "mistral" -> slidingWindow == null ? 0 : slidingWindow;
            case "qwen2" -> Boolean.TRUE.equals(useSlidingWindow)
                    && layer >= (maxWindowLayers == null ? 28 : maxWindowLayers)
                    ? (slidingWindow == null ? 4096 : slidingWindow) : 0;
            default -> 0;
        };
    }

    /** The mini model of the demo and tests: byte-level vocabulary, a few million parameters at most. */
    public static ModelConfig mini(int layers, int hidden, int heads, int kvHeads, int intermediate, double theta,
                                   int maxPositions) {
        return new ModelConfig(dev.longpo.text.ByteTokenizer.VOCAB_SIZE, hidden, intermediate, layers, heads, kvHeads,
                theta, maxPositions, 1e-5, true, null, "llama", "byte", null, null, null, null, null, null, null,
                null, null, null);
    }

    /**
     * The demo's mini model: 4 layers, d=128, 4 heads, SwiGLU width 352, byte tokens (about 0.84M
     * parameters), RoPE base 10,000.
     */
    public static ModelConfig miniDefault() {
        return mini(4, 128, 4, 4, 352, 10_000, 8192);
    }

    private ModelConfig with(double theta, Double original) {
        return new ModelConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, theta, maxPositionEmbeddings, rmsNormEps, tieWordEmbeddings, headDimOverride,
                modelType, tokenizer, original, ropeScaling, slidingWindow, useSlidingWindow, maxWindowLayers,
                layerTypes, attentionBias, mlpBias, hiddenAct, extras);
    }

    /**
     * A copy with another RoPE base (LongPO's enlarged theta1) that remembers the base the weights
     * were first trained at, {@code original_rope_theta}, so a reloaded checkpoint knows how far it
     * was stretched.
     */
    public ModelConfig withRopeTheta(double theta) {
        Double original = originalRopeTheta != null ? originalRopeTheta : theta == ropeTheta ? null : ropeTheta;
        return with(theta, original);
    }

    /**
     * A copy whose native base is {@code theta}, forgetting any earlier base: for weights about to be
     * trained further at that base (a new pretraining base), unlike {@link #withRopeTheta}, which records
     * a stretch of the base the weights were trained at.
     */
    public ModelConfig rebased(double theta) {
        return with(theta, null);
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

    /**
     * Reads a {@code config.json}; refuses, naming the key, any config whose math is not implemented.
     * transformers v5's {@code rope_parameters} is read as {@code rope_theta} plus {@code rope_scaling}.
     */
    public static ModelConfig read(Path file) throws IOException {
        if (!java.nio.file.Files.exists(file)) {
            throw new IOException(file.toAbsolutePath().getParent() + " is not a model directory: it has no "
                    + file.getFileName());
        }
        JsonNode root = JSON.readTree(file.toFile());
        if (!(root instanceof ObjectNode raw)) {
            throw new IOException(file + " is not a JSON object");
        }
        return fromJson(raw, file.toString());
    }

    static ModelConfig fromJson(ObjectNode raw, String source) throws IOException {
        ObjectNode node = raw.deepCopy();
        JsonNode params = node.get("rope_parameters");
        if (params != null && params.isObject()) {
            if (!node.has("rope_theta") && params.has("rope_theta")) {
                node.set("rope_theta", params.get("rope_theta"));
            }
            ObjectNode scaling = ((ObjectNode) params).deepCopy();
            scaling.remove("rope_theta");
            String type = scaling.path("rope_type").asText("default");
            if (!"default".equals(type) && !node.hasNonNull("rope_scaling")) {
                node.set("rope_scaling", scaling);
            }
        }
        String type = node.path("model_type").asText("llama");
        if (!SUPPORTED.contains(type)) {
            throw new UnsupportedModelException(source + ": model_type '" + type + "' is not supported (supported: "
                    + String.join(", ", SUPPORTED) + ")");
        }
        for (Map.Entry<String, Object> e : UNSUPPORTED_KEYS.entrySet()) {
            JsonNode v = node.get(e.getKey());
            if (v == null || v.isNull()) {
                continue;
            }
            Object off = e.getValue();
            boolean neutral = off != null && (off instanceof Boolean b ? v.isBoolean() && v.asBoolean() == b
                    : v.isNumber() && v.asDouble() == ((Number) off).doubleValue());
            if (!neutral) {
                throw new UnsupportedModelException(source + ": " + e.getKey() + " = " + v
                        + " is not supported (it changes the forward pass; only " + (off == null ? "absent" : off)
                        + " is)");
            }
        }
        if (node.has("hidden_activation") && !"silu".equals(node.get("hidden_activation").asText())) {
            throw new UnsupportedModelException(source + ": hidden_activation '"
                    + node.get("hidden_activation").asText() + "' is not supported (only silu)");
        }
        Map<String, Object> extras = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = raw.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!MODELLED.contains(e.getKey())) {
                extras.put(e.getKey(), JSON.treeToValue(e.getValue(), Object.class));
            }
        }
        if ("mistral".equals(node.path("model_type").asText()) && !node.has("sliding_window")) {
            node.put("sliding_window", 4096); // MistralConfig's default; an explicit null means none
        }
        try {
            ModelConfig c = JSON.treeToValue(node, ModelConfig.class);
            return new ModelConfig(c.vocabSize, c.hiddenSize, c.intermediateSize, c.numHiddenLayers,
                    c.numAttentionHeads, c.numKeyValueHeads, c.ropeTheta, c.maxPositionEmbeddings, c.rmsNormEps,
                    c.tieWordEmbeddings, c.headDimOverride, c.modelType, c.tokenizer, c.originalRopeTheta,
                    c.ropeScaling, c.slidingWindow, c.useSlidingWindow, c.maxWindowLayers, c.layerTypes,
                    c.attentionBias, c.mlpBias, c.hiddenAct, extras);
        } catch (com.fasterxml.jackson.databind.JsonMappingException e) {
            Throwable cause = e.getCause();
            if (cause instanceof UnsupportedModelException u) {
                throw new UnsupportedModelException(source + ": " + u.getMessage());
            }
            if (cause instanceof IllegalArgumentException a) {
                throw new IOException(source + ": " + a.getMessage(), e);
            }
            throw e;
        }
    }

    /** Writes the config with every key it was read with (the modelled ones as they are now). */
    public void write(Path file) throws IOException {
        ObjectNode out = JSON.createObjectNode();
        extras.forEach((k, v) -> out.set(k, JSON.valueToTree(v)));
        out.setAll((ObjectNode) JSON.valueToTree(this));
        if ("mistral".equals(modelType) && slidingWindow == null) {
            out.putNull("sliding_window");
        }
        AtomicFiles.write(file, JSON.writeValueAsBytes(out));
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
