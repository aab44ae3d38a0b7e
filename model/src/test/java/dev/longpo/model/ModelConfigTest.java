package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What a config.json may say: transformers' defaults, refusals that name the key, lossless round trip. */
class ModelConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BASE = "\"vocab_size\": 64, \"hidden_size\": 16, \"intermediate_size\": 24, "
            + "\"num_hidden_layers\": 1, \"num_attention_heads\": 2";

    @TempDir
    Path dir;

    private ModelConfig read(String json) throws Exception {
        Path f = dir.resolve("config.json");
        Files.writeString(f, json);
        return ModelConfig.read(f);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"model_type\": \"gemma\"| model_type 'gemma'",
        "\"model_type\": \"mixtral\", \"num_local_experts\": 8| model_type 'mixtral'",
        "\"model_type\": \"llama\", \"hidden_act\": \"gelu\"| hidden_act 'gelu'",
        "\"model_type\": \"qwen2\", \"num_experts\": 4| num_experts",
        "\"model_type\": \"llama\", \"final_logit_softcapping\": 30.0| final_logit_softcapping",
        "\"model_type\": \"llama\", \"partial_rotary_factor\": 0.5| partial_rotary_factor",
        "\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"longrope\", \"factor\": 2.0}| 'longrope'",
        "\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 2.0, \"mscale\": 1.0}| 'mscale'",
        "\"model_type\": \"llama\", \"layer_types\": [\"chunked_attention\"]| chunked_attention",
    })
    void configsWhoseMathIsNotImplementedAreRefusedByKey(String extra, String named) {
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class,
                () -> read("{" + BASE + ", " + extra + "}"));
        assertTrue(e.getMessage().contains(named.trim()), e.getMessage());
        assertTrue(e.getMessage().contains("config.json"), "names the file: " + e.getMessage());
    }

    @Test
    void neutralValuesOfRiskyKeysAreAccepted() throws Exception {
        ModelConfig c = read("{" + BASE + ", \"model_type\": \"llama\", \"partial_rotary_factor\": 1.0, "
                + "\"final_logit_softcapping\": null, \"pretraining_tp\": 1, \"hidden_act\": \"silu\"}");
        assertEquals("llama", c.modelType());
    }

    @Test
    void absentKeysTakeTransformersDefaultsPerFamily() throws Exception {
        ModelConfig llama = read("{" + BASE + ", \"model_type\": \"llama\"}");
        assertEquals(10_000.0, llama.ropeTheta());
        assertEquals(1e-6, llama.rmsNormEps());
        assertEquals(2, llama.numKeyValueHeads());
        assertEquals(false, llama.tieWordEmbeddings());
        assertEquals(0, llama.window(0));
        ModelConfig mistral = read("{" + BASE + ", \"model_type\": \"mistral\", \"num_key_value_heads\": 1}");
        assertEquals(4096, mistral.window(0), "MistralConfig's default window");
        assertEquals(0, read("{" + BASE + ", \"model_type\": \"mistral\", \"num_key_value_heads\": 1, \"sliding_window\": null}").window(0));
        ModelConfig qwen = read("{" + BASE + ", \"model_type\": \"qwen2\", \"sliding_window\": 32}");
        assertEquals(0, qwen.window(0), "use_sliding_window defaults to false");
        assertTrue(qwen.qkvBias());
        ModelConfig v5 = read("{" + BASE + ", \"model_type\": \"llama\", \"rope_parameters\": "
                + "{\"rope_type\": \"linear\", \"factor\": 2.0, \"rope_theta\": 5e5}}");
        assertEquals(5e5, v5.ropeTheta(), "transformers v5 rope_parameters");
        assertEquals("linear", v5.rope().type());
    }

    @Test
    void unmodelledKeysSurviveAWriteAndRead() throws Exception {
        ModelConfig c = read("{" + BASE + ", \"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"], "
                + "\"torch_dtype\": \"bfloat16\", \"bos_token_id\": 1, \"eos_token_id\": [2, 3], "
                + "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, "
                + "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}}");
        Path out = dir.resolve("out.json");
        c.withRopeTheta(2e5).write(out);
        ObjectNode written = (ObjectNode) JSON.readTree(out.toFile());
        assertEquals("LlamaForCausalLM", written.get("architectures").get(0).asText());
        assertEquals("bfloat16", written.get("torch_dtype").asText());
        assertEquals(3, written.get("eos_token_id").get(1).asInt());
        assertEquals(8.0, written.get("rope_scaling").get("factor").asDouble());
        assertEquals(2e5, written.get("rope_theta").asDouble());
        assertEquals(10_000.0, written.get("original_rope_theta").asDouble());
        assertEquals(c.withRopeTheta(2e5), ModelConfig.read(out));
    }

    @Test
    void llama3BandsAndYarnRampFollowTheirRules() {
        // head dim 8, base 1e4: wavelengths 2pi, 2pi*10, 2pi*100, 2pi*1000
        RopeScaling llama3 = RopeScaling.parse(java.util.Map.of("rope_type", "llama3", "factor", 8.0,
                "low_freq_factor", 1.0, "high_freq_factor", 4.0, "original_max_position_embeddings", 256));
        double[] inv = llama3.invFreq(8, 1e4, 0, 0);
        assertEquals(1.0, inv[0], 1e-12, "short wavelengths (< 64) are kept");
        double wavelen = 2 * Math.PI * 10; // 62.8 < 64: kept
        assertEquals(1 / 10.0, inv[1], 1e-12, "wavelength " + wavelen);
        double w2 = 2 * Math.PI * 100; // 628 > 256: divided by the factor
        assertEquals(1 / 100.0 / 8, inv[2], 1e-12, "wavelength " + w2);
        RopeScaling medium = RopeScaling.parse(java.util.Map.of("rope_type", "llama3", "factor", 8.0,
                "low_freq_factor", 1.0, "high_freq_factor", 4.0, "original_max_position_embeddings", 1024));
        double s = (1024 / (2 * Math.PI * 100) - 1) / 3; // 628 lies between 256 and 1024: smoothed
        assertEquals((1 - s) * 0.01 / 8 + s * 0.01, medium.invFreq(8, 1e4, 0, 0)[2], 1e-12);
        RopeScaling linear = RopeScaling.parse(java.util.Map.of("type", "linear", "factor", 4.0));
        assertEquals(0.25, linear.invFreq(8, 1e4, 0, 0)[0], 1e-12);
        RopeScaling dynamic = RopeScaling.parse(java.util.Map.of("rope_type", "dynamic", "factor", 2.0));
        assertEquals(0.1, dynamic.invFreq(8, 1e4, 100, 100)[1], 1e-12, "no change within the original length");
        double grown = 1e4 * Math.pow(2.0 * 200 / 100 - 1, 8 / 6.0);
        assertEquals(1 / Math.pow(grown, 0.25), dynamic.invFreq(8, 1e4, 200, 100)[1], 1e-12);
        RopeScaling yarn = RopeScaling.parse(java.util.Map.of("rope_type", "yarn", "factor", 4.0));
        assertEquals(0.1 * Math.log(4) + 1, yarn.cosSinFactor(), 1e-12);
        assertEquals(1.0, linear.cosSinFactor());
    }
}
