package dev.longpo.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
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
        return load(dir, device, DataType.FLOAT32);
    }

    /** The model, its parameters in {@code dtype}, and tokenizer of a model directory. */
    public static Loaded load(Path dir, Device device, DataType dtype) throws IOException {
        LlamaModel model = loadModel(dir, device, dtype);
        try {
            return new Loaded(model, tokenizer(dir, model.config()));
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The model of a model directory in float32 (see {@link #loadModel(Path, Device, DataType)}). */
    public static LlamaModel loadModel(Path dir, Device device) throws IOException {
        return loadModel(dir, device, DataType.FLOAT32);
    }

    /**
     * The model of a model directory alone, its parameters in {@code dtype} (float32, or float16 for
     * inference; bfloat16 checkpoints are widened). Each tensor goes from its memory-mapped file straight to the engine's memory, never
     * through a Java array, so a model needs no Java heap of its size. A tensor the configured
     * architecture does not use (say a bias the config does not declare) is refused rather than
     * dropped; rotary tables that old checkpoints store ({@code rotary_emb.inv_freq}) and a tied model's
     * {@code lm_head.weight} are derived, not read.
     */
    public static LlamaModel loadModel(Path dir, Device device, DataType dtype) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("model directory " + dir + " does not exist");
        }
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16) {
            throw new IllegalArgumentException("model.dtype must be float32 or float16, got " + dtype);
        }
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        Map<String, Shape> expected = LlamaModel.shapes(config);
        TorchRuntime.start(0);
        NDManager m = NDManager.newBaseManager(device);
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        try {
            SafeTensors.visitModel(dir, (name, type, shape, data) -> {
                if (name.endsWith("rotary_emb.inv_freq") || (config.tieWordEmbeddings() && name.equals("lm_head.weight"))) {
                    return;
                }
                if (!expected.containsKey(name)) {
                    throw new UnsupportedModelException(dir + ": tensor " + name + " is not part of a "
                            + config.modelType() + " model as config.json describes it (a key missing from the config,"
                            + " or another architecture)");
                }
                arrays.put(name, toEngine(m, type, shape, data, dtype));
            });
            return LlamaModel.fromNDArrays(config, m, arrays);
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** Elements converted per slice: bounds the off-heap staging buffer (256 MB) whatever the tensor's size. */
    private static final int SLICE = 64 << 20;

    /**
     * One tensor in torch-owned memory as {@code dtype}. float32 data is copied from the mapped view;
     * 16-bit data (which DJL cannot take from a buffer) is widened to float32 slice by slice in an
     * off-heap staging buffer. Either way no Java array of the tensor's size is made.
     */
    private static NDArray toEngine(NDManager m, String type, long[] shape, java.nio.ByteBuffer data, DataType dtype) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        long row = shape.length == 0 ? 1 : n / Math.max(1, shape[0]);
        long rowsPerSlice = shape.length == 0 ? 1 : Math.max(1, SLICE / Math.max(1, row));
        long rows = shape.length == 0 ? 1 : shape[0];
        int width = type.equals("F32") ? 4 : 2;
        java.util.List<NDArray> slices = new java.util.ArrayList<>();
        for (long r0 = 0; r0 < rows; r0 += rowsPerSlice) {
            long r1 = Math.min(rows, r0 + rowsPerSlice);
            long count = (r1 - r0) * row;
            java.nio.ByteBuffer src = data.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
            src.position((int) (r0 * row * width)).limit((int) (r1 * row * width));
            java.nio.ByteBuffer f32 = java.nio.ByteBuffer.allocateDirect((int) (count * 4)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            if (width == 4) {
                f32.put(src.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN));
            } else {
                java.nio.ShortBuffer halves = src.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN).asShortBuffer();
                while (halves.hasRemaining()) {
                    short h = halves.get();
                    f32.putFloat(type.equals("BF16") ? Float.intBitsToFloat((h & 0xffff) << 16) : SafeTensors.halfToFloat(h));
                }
            }
            f32.flip();
            long[] sliceShape = shape.clone();
            if (sliceShape.length > 0) {
                sliceShape[0] = r1 - r0;
            }
            // copied into torch-owned memory at once: the buffer is freed when Java collects it. duplicate()
            // copies; toType(FLOAT32, copy=true) on a float32 array does not (it returned an alias of the buffer,
            // whose values turned to garbage later: NaN logits from a loaded model)
            try (NDArray view = m.create(f32, new Shape(sliceShape), DataType.FLOAT32)) {
                slices.add(dtype == DataType.FLOAT32 ? view.duplicate() : view.toType(dtype, false));
            }
        }
        if (slices.size() == 1) {
            return slices.get(0);
        }
        NDArray whole = ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(slices), 0);
        slices.forEach(NDArray::close);
        return whole;
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
