package dev.longpo.model;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Training checkpoints: a directory with the model (config.json, model.safetensors, tokenizer files), the optimizer
 * moments (optimizer.safetensors), the checkpoint's own record (checkpoint.json: optimizer step and
 * the weights' SHA-256) and the caller's state as JSON (state.json: a typed record, e.g. the trainer's
 * consumed offsets and ledger). The directory is assembled under a temporary name and renamed into
 * place, so a crash leaves either no checkpoint or a whole one; loading verifies the weights' SHA-256.
 */
public final class Checkpoints {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String RECORD = "checkpoint.json";
    static final String STATE = "state.json";

    private Checkpoints() {
    }

    /** What a checkpoint records about itself. */
    record Meta(long optimizerStep, String modelSha256) {
    }

    /** A restored checkpoint. */
    public record Restored<S>(LlamaModel model, AdamW optimizer, S state) {
    }

    /** As {@link #save(Path, LlamaModel, AdamW, Object, Path)} for a model without tokenizer files (the byte tokenizer). */
    public static String save(Path dir, LlamaModel model, AdamW optimizer, Object state) throws IOException {
        return save(dir, model, optimizer, state, null);
    }

    /**
     * Writes {@code dir} atomically; returns the weights' SHA-256. {@code dir} must not exist.
     * {@code state} is any value Jackson serialises (a record or a map). The model part is a complete
     * Hugging Face directory: with {@code tokenizerFrom}, its tokenizer files are copied in.
     */
    public static String save(Path dir, LlamaModel model, AdamW optimizer, Object state, Path tokenizerFrom)
            throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        if (Files.exists(dir)) {
            throw new IOException("checkpoint " + dir + " already exists");
        }
        Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + ".tmp");
        AtomicFiles.setMode(tmp, "rwxr-xr-x");
        try {
            String sha = ModelStore.save(model, tmp, Map.of("step", String.valueOf(optimizer.stepCount())), tokenizerFrom);
            Map<String, long[]> shapes = new LinkedHashMap<>();
            LlamaModel.shapes(model.config()).forEach((k, v) -> {
                shapes.put("exp_avg." + k, v.getShape());
                shapes.put("exp_avg_sq." + k, v.getShape());
            });
            Map<String, float[]> moments = optimizer.state();
            Map<String, float[]> ordered = new LinkedHashMap<>();
            shapes.keySet().forEach(k -> ordered.put(k, moments.get(k)));
            SafeTensors.write(tmp.resolve("optimizer.safetensors"), ordered, shapes,
                    Map.of("step", String.valueOf(optimizer.stepCount())));
            AtomicFiles.write(tmp.resolve(STATE), JSON.writeValueAsBytes(state));
            AtomicFiles.write(tmp.resolve(RECORD), JSON.writeValueAsBytes(new Meta(optimizer.stepCount(), sha)));
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            return sha;
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
    }

    /** Loads model, optimizer (with its step count) and the caller's state; verifies the weights' SHA-256. */
    public static <S> Restored<S> load(Path dir, Device device, AdamW.Settings settings, Class<S> stateType)
            throws IOException {
        Meta meta = JSON.readValue(dir.resolve(RECORD).toFile(), Meta.class);
        String sha = AtomicFiles.sha256(dir.resolve("model.safetensors"));
        if (!sha.equals(meta.modelSha256())) {
            throw new IOException("checkpoint " + dir + " is corrupt: model.safetensors SHA-256 " + sha
                    + " does not match " + meta.modelSha256());
        }
        S state = JSON.readValue(dir.resolve(STATE).toFile(), stateType);
        LlamaModel model = ModelStore.load(dir, device).model();
        AdamW opt = new AdamW(model, settings);
        Map<String, float[]> moments = new LinkedHashMap<>();
        SafeTensors.read(dir.resolve("optimizer.safetensors")).tensors().forEach((k, v) -> moments.put(k, v.data()));
        opt.load(moments, meta.optimizerStep());
        return new Restored<>(model, opt, state);
    }

    /**
     * The newest complete checkpoint among {@code folder}'s subfolders named {@code prefix} + a zero-padded
     * step, if any (a temporary folder of an interrupted save is never complete).
     */
    public static Optional<Path> newest(Path folder, String prefix) throws IOException {
        if (!Files.isDirectory(folder)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix) && Files.exists(p.resolve(RECORD)))
                    .max(Comparator.comparing(p -> p.getFileName().toString()));
        }
    }
}
