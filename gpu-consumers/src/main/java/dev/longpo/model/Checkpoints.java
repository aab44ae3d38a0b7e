package dev.longpo.model;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Trainer checkpoints: a directory with the model (config.json, model.safetensors), the optimizer
 * moments (optimizer.safetensors) and the trainer's state (trainer.json: step, consumed offsets, ...).
 * The directory is assembled under a temporary name and renamed into place, so a crash leaves either
 * no checkpoint or a whole one. Its SHA-256 is that of {@code model.safetensors}.
 */
public final class Checkpoints {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoints() {
    }

    /** A restored checkpoint. */
    public record Restored(LlamaModel model, AdamW optimizer, Map<String, String> state) {
    }

    /** Writes {@code dir} atomically; returns the weights' SHA-256. {@code dir} must not exist. */
    public static String save(Path dir, LlamaModel model, AdamW optimizer, Map<String, String> state) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        if (Files.exists(dir)) {
            throw new IOException("checkpoint " + dir + " already exists");
        }
        Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + ".tmp");
        AtomicFiles.setMode(tmp, "rwxr-xr-x");
        try {
            String sha = ModelStore.save(model, tmp, Map.of("step", String.valueOf(optimizer.stepCount())));
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
            Map<String, String> st = new LinkedHashMap<>(state);
            st.put("optimizer_step", String.valueOf(optimizer.stepCount()));
            st.put("model_sha256", sha);
            AtomicFiles.write(tmp.resolve("trainer.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(st));
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            return sha;
        } finally {
            deleteTree(tmp);
        }
    }

    /** Loads model, optimizer (with its step count) and trainer state; verifies the weights' SHA-256. */
    @SuppressWarnings("unchecked")
    public static Restored load(Path dir, Device device, AdamW.Settings settings) throws IOException {
        Map<String, String> state = JSON.readValue(dir.resolve("trainer.json").toFile(), LinkedHashMap.class);
        String sha = AtomicFiles.sha256(dir.resolve("model.safetensors"));
        if (!sha.equals(state.get("model_sha256"))) {
            throw new IOException("checkpoint " + dir + " is corrupt: model.safetensors SHA-256 " + sha
                    + " does not match " + state.get("model_sha256"));
        }
        ModelStore.Loaded loaded = ModelStore.load(dir, device);
        LlamaModel model = loaded.model();
        AdamW opt = new AdamW(model, settings);
        Map<String, float[]> moments = new LinkedHashMap<>();
        SafeTensors.read(dir.resolve("optimizer.safetensors")).tensors().forEach((k, v) -> moments.put(k, v.data()));
        opt.load(moments, Long.parseLong(state.get("optimizer_step")));
        return new Restored(model, opt, state);
    }

    /** Deletes a folder and everything in it (nothing if it does not exist). */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }
}
