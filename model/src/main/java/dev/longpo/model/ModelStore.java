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
        return save(model, dir, metadata, null);
    }

    /**
     * Writes config.json (every key the model was loaded with) and model.safetensors (float32: the
     * trainer's weights exactly, whatever {@code torch_dtype} says), each atomically, and copies the
     * tokenizer files of {@code tokenizerFrom} (if not null) so the directory loads on its own, here and
     * in transformers. Returns the weights' SHA-256.
     */
    public static String save(LlamaModel model, Path dir, Map<String, String> metadata, Path tokenizerFrom)
            throws IOException {
        Files.createDirectories(dir);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        LlamaModel.shapes(model.config()).forEach((k, v) -> shapes.put(k, v.getShape()));
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put("format", "pt");
        String sha = SafeTensors.write(dir.resolve("model.safetensors"), model.toArrays(), shapes, meta);
        model.config().write(dir.resolve("config.json"));
        if (tokenizerFrom != null && !tokenizerFrom.toAbsolutePath().normalize().equals(dir.toAbsolutePath().normalize())) {
            for (String name : HfTokenizer.FILES) {
                Path f = tokenizerFrom.resolve(name);
                if (Files.exists(f)) {
                    dev.longpo.files.AtomicFiles.write(dir.resolve(name), Files.readAllBytes(f));
                }
            }
        }
        return sha;
    }

    /** The model and tokenizer of a model directory. */
    public static Loaded load(Path dir, Device device) throws IOException {
        LlamaModel model = loadModel(dir, device);
        try {
            return new Loaded(model, tokenizer(dir, model.config()));
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * The model of a model directory alone. A tensor the configured architecture does not use (say a
     * bias the config does not declare) is refused rather than dropped; rotary tables that old
     * checkpoints store ({@code rotary_emb.inv_freq}) and a tied model's {@code lm_head.weight} are
     * derived, not read.
     */
    public static LlamaModel loadModel(Path dir, Device device) throws IOException {
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
        arrays.keySet().removeIf(k -> k.endsWith("rotary_emb.inv_freq"));
        Map<String, ?> expected = LlamaModel.shapes(config);
        for (String name : arrays.keySet()) {
            if (!expected.containsKey(name)) {
                throw new UnsupportedModelException(dir + ": tensor " + name + " is not part of a " + config.modelType()
                        + " model as config.json describes it (a key missing from the config, or another architecture)");
            }
        }
        return LlamaModel.fromArrays(config, device, arrays);
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
