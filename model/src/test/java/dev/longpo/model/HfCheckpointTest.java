package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.text.ChatFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny random Llama-3 checkpoint with the real Llama-3 tokenizer, saved as the trainer saves it: a
 * complete Hugging Face directory (every config key, the tokenizer files) that reloads as a model
 * with the same tokenizer (evaluator, promoted-model swap) and as a checkpoint (trainer restart).
 */
class HfCheckpointTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void engine() {
        TorchRuntime.inferenceThread();
    }

    private static final String CONFIG = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16",
             "vocab_size": %d, "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 1,
             "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 1024,
             "rope_theta": 500000.0, "bos_token_id": 128000, "eos_token_id": [128001, 128009],
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 128}}
            """;

    @Test
    void aTrainerCheckpointIsACompleteHuggingFaceDirectoryThatReloads() throws Exception {
        Path initial = dir.resolve("initial");
        Files.createDirectories(initial);
        Path tokDir = Tokenizers.dir("llama3");
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(tokDir.resolve(f), initial.resolve(f));
        }
        HfTokenizer tok = HfTokenizer.load(tokDir);
        Files.writeString(initial.resolve("config.json"), CONFIG.formatted(tok.vocabSize()));
        try (LlamaModel random = LlamaModel.random(ModelConfig.read(initial.resolve("config.json")), Device.cpu(), 5)) {
            ModelStore.save(random, initial, Map.of());
        }
        int[] prompt = ChatFormat.of(tok).prompt("The code word is heron.", "What is the code word?");
        Path ckpt = dir.resolve("step-00000001");
        float[] before;
        try (ModelStore.Loaded loaded = ModelStore.load(initial, Device.cpu());
             AdamW opt = new AdamW(loaded.model(), AdamW.Settings.builder().setLearningRate(1e-3).setTotalSteps(10)
                     .build());
             NDManager m = loaded.model().manager().newSubManager()) {
            assertInstanceOf(HfTokenizer.class, loaded.tokenizer());
            before = loaded.model().forward(Tensors.ints(m, prompt, new Shape(1, prompt.length)), null, null)
                    .toFloatArray();
            Checkpoints.save(ckpt, loaded.model(), opt, Map.of("note", "state"), initial);
        }
        JsonNode written = new ObjectMapper().readTree(ckpt.resolve("config.json").toFile());
        assertEquals("LlamaForCausalLM", written.get("architectures").get(0).asText());
        assertEquals(128009, written.get("eos_token_id").get(1).asInt());
        assertEquals("llama3", written.get("rope_scaling").get("rope_type").asText());
        assertTrue(Files.exists(ckpt.resolve("tokenizer.json")) && Files.exists(ckpt.resolve("tokenizer_config.json")));

        try (ModelStore.Loaded reloaded = ModelStore.load(ckpt, Device.cpu());
             NDManager m = reloaded.model().manager().newSubManager()) {
            HfTokenizer t = assertInstanceOf(HfTokenizer.class, reloaded.tokenizer());
            assertEquals(tok.eos(), t.eos());
            assertEquals(tok.stopTokens(), t.stopTokens());
            assertArrayEquals(prompt, ChatFormat.of(t).prompt("The code word is heron.", "What is the code word?"));
            assertArrayEquals(before, reloaded.model().forward(Tensors.ints(m, prompt, new Shape(1, prompt.length)),
                    null, null).toFloatArray());
        }
        Checkpoints.Restored<Map> restored = Checkpoints.load(ckpt, Device.cpu(),
                AdamW.Settings.builder().setLearningRate(1e-3).setTotalSteps(10).build(), Map.class);
        try (LlamaModel m = restored.model(); AdamW opt = restored.optimizer()) {
            assertEquals("state", restored.state().get("note"));
            assertEquals(0, opt.stepCount());
            assertEquals("llama3", m.config().rope().type());
        }
    }
}
