package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Per-token log-probs of tiny random Llama, Mistral and Qwen2 checkpoints against an independent
 * float64 PyTorch reference of transformers' forward pass ({@code src/test/python/hf_reference.py},
 * outputs committed under {@code hf-reference/}); and, for each feature the case exercises (RoPE
 * scaling, sliding window, biases, defaults), that ignoring it would have been caught.
 */
class HfReferenceTest {
    private static final Path ROOT = Path.of("src/test/resources/hf-reference");
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void engine() {
        TorchRuntime.inferenceThread();
    }

    static Stream<String> cases() throws Exception {
        try (Stream<Path> s = Files.list(ROOT)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList().stream();
        }
    }

    private static double[] logprobs(LlamaModel model, int[] tokens) {
        try (NDManager m = model.manager().newSubManager()) {
            NDArray logits = model.forward(Tensors.ints(m, tokens, new Shape(1, tokens.length)), null, null);
            float[] lp = logits.logSoftmax(-1).toFloatArray();
            int vocab = model.config().vocabSize();
            double[] out = new double[tokens.length - 1];
            for (int i = 0; i < out.length; i++) {
                out[i] = lp[i * vocab + tokens[i + 1]];
            }
            return out;
        }
    }

    private static double maxDifference(double[] a, double[] b) {
        double worst = 0;
        for (int i = 0; i < b.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

    /** One committed case: its checkpoint folder, token ids and the reference's next-token log-probs. */
    record Case(Path dir, int[] tokens, double[] want) {
        static Case of(String name) throws java.io.IOException {
            Path dir = ROOT.resolve(name);
            JsonNode expected = JSON.readTree(dir.resolve("expected.json").toFile());
            return new Case(dir, JSON.convertValue(expected.get("tokens"), int[].class),
                    JSON.convertValue(expected.get("next_token_logprobs"), double[].class));
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void perTokenLogprobsMatchTheReference(String name) throws Exception {
        Case c = Case.of(name);
        try (LlamaModel model = ModelStore.loadModel(c.dir(), Device.cpu())) {
            double worst = maxDifference(logprobs(model, c.tokens()), c.want());
            assertTrue(worst < 1e-4, name + ": max |log-prob difference| " + worst);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void halfPrecisionInferenceStaysCloseToTheReferenceAndGenerates(String name) throws Exception {
        Case c = Case.of(name);
        double[] want = c.want();
        try (LlamaModel model = ModelStore.loadModel(c.dir(), Device.cpu(), ai.djl.ndarray.types.DataType.FLOAT16)) {
            assertEquals(ai.djl.ndarray.types.DataType.FLOAT16, model.dataType());
            assertEquals(ai.djl.ndarray.types.DataType.FLOAT16,
                    model.parameters().get("model.norm.weight").getDataType());
            double[] got = logprobs(model, c.tokens());
            double mean = 0;
            for (int i = 0; i < want.length; i++) {
                mean += Math.abs(got[i] - want[i]) / want.length;
            }
            // float16 keeps 11 bits of mantissa: weights and activations round at ~0.05%
            assertTrue(mean < 0.02, name + ": mean |log-prob difference| in float16 " + mean);
            int[] prompt = java.util.Arrays.copyOf(c.tokens(), 12);
            var out = Generator.generate(model, 0, java.util.List.of(prompt),
                    Generator.Settings.builder().maxNewTokens(4).build());
            assertEquals(4, out.get(0).tokens().length);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void theFeatureOfEachCaseChangesTheResult(String name) throws Exception {
        Case c = Case.of(name);
        Path dir = c.dir();
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        ObjectNode plain = config.deepCopy();
        plain.remove(java.util.List.of("rope_scaling", "sliding_window", "use_sliding_window"));
        if (name.equals("llama-defaults")) {
            plain.put("rope_theta", 1e6).put("rms_norm_eps", 0.3);
        }
        if (name.equals("qwen2") || name.equals("llama-biases")) {
            plain.put("model_type", "mistral").putNull("sliding_window");
        }
        Path copy = Files.createTempDirectory("plain");
        Files.copy(dir.resolve("model.safetensors"), copy.resolve("model.safetensors"));
        Files.writeString(copy.resolve("config.json"), plain.toString());
        if (name.equals("qwen2") || name.equals("llama-biases")) {
            try {
                ModelStore.loadModel(copy, Device.cpu()).close();
                throw new AssertionError(name + ": bias tensors without a config that uses them were not refused");
            } catch (UnsupportedModelException e) {
                assertTrue(e.getMessage().contains(".bias"), e.getMessage());
                return;
            }
        }
        try (LlamaModel model = ModelStore.loadModel(copy, Device.cpu())) {
            double worst = maxDifference(logprobs(model, c.tokens()), c.want());
            assertTrue(worst > 0.01, name + ": the case does not exercise its feature (" + worst + ")");
        }
        assertEquals(config.path("model_type").asText(), ModelConfig.read(dir.resolve("config.json")).modelType());
    }
}
