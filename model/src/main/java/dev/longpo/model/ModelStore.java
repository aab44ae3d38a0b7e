package dev.longpo.model;

import ai.djl.Device;
import dev.longpo.text.ByteTokenizer;
import dev.longpo.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model directory in the Hugging Face layout: {@code config.json}, {@code model.safetensors} (or
 * sharded with {@code model.safetensors.index.json}) and, for real checkpoints, {@code tokenizer.json}.
 * The mini model records {@code "tokenizer": "byte"} in its config instead.
 */
public final class ModelStore {
    private ModelStore() {
    }

    /** A loaded model with its tokenizer. */
    public record Loaded(LlamaModel model, Tokenizer tokenizer) implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }
    }

    /** Writes config.json and model.safetensors (atomically each); returns the weights' SHA-256. */
    public static String save(LlamaModel model, Path dir, Map<String, String> metadata) throws IOException {
        Files.createDirectories(dir);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        LlamaModel.shapes(model.config()).forEach((k, v) -> shapes.put(k, v.getShape()));
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put("format", "pt");
        String sha = SafeTensors.write(dir.resolve("model.safetensors"), model.toArrays(), shapes, meta);
        model.config().write(dir.resolve("config.json"));
        return sha;
    }

    public static Loaded load(Path dir, Device device) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("model directory " + dir + " does not exist");
        }
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        Map<String, SafeTensors.Tensor> tensors = SafeTensors.readModel(dir);
        Map<String, float[]> arrays = new LinkedHashMap<>();
        tensors.forEach((k, v) -> arrays.put(k, v.data()));
        if (config.tieWordEmbeddings()) {
            arrays.remove("lm_head.weight");
        }
        LlamaModel model = LlamaModel.fromArrays(config, device, arrays);
        return new Loaded(model, tokenizer(dir, config));
    }

    /** The tokenizer of a model directory (byte, or its tokenizer.json). */
    public static Tokenizer tokenizer(Path dir) throws IOException {
        return tokenizer(dir, ModelConfig.read(dir.resolve("config.json")));
    }

    static Tokenizer tokenizer(Path dir, ModelConfig config) throws IOException {
        if ("byte".equals(config.tokenizer())) {
            return ByteTokenizer.INSTANCE;
        }
        Path json = dir.resolve("tokenizer.json");
        if (Files.exists(json)) {
            return HfTokenizer.load(dir);
        }
        throw new IOException("no tokenizer.json in " + dir + " and config.json does not name the byte tokenizer");
    }
}
