package dev.longpo.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Hugging Face safetensors format: an 8-byte little-endian header length, a JSON header
 * ({@code name -> {dtype, shape, data_offsets}} plus optional {@code __metadata__}), then raw
 * little-endian tensor data. Reads F32, BF16 and F16 (converted to float32) and writes F32.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor as float32 values. */
    public record Tensor(String dtype, long[] shape, float[] data) {
    }

    /** A file's tensors and metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    private SafeTensors() {
    }

    /** Writes float32 tensors atomically; returns the file's SHA-256. */
    public static String write(Path file, Map<String, float[]> data, Map<String, long[]> shapes,
                               Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, float[]> e : data.entrySet()) {
            long[] shape = shapes.get(e.getKey());
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            if (n != e.getValue().length) {
                throw new IllegalArgumentException("tensor " + e.getKey() + " has " + e.getValue().length
                        + " values for shape " + java.util.Arrays.toString(shape));
            }
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            var sh = t.putArray("shape");
            for (long d : shape) {
                sh.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + 4L * n);
            offset += 4L * n;
        }
        byte[] h = JSON.writeValueAsBytes(header);
        int padded = (h.length + 7) / 8 * 8;
        byte[] hp = java.util.Arrays.copyOf(h, padded);
        java.util.Arrays.fill(hp, h.length, padded, (byte) ' ');
        return AtomicFiles.write(file, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(hp);
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (float[] values : data.values()) {
                for (float v : values) {
                    if (!buf.hasRemaining()) {
                        out.write(buf.array(), 0, buf.position());
                        buf.clear();
                    }
                    buf.putFloat(v);
                }
            }
            out.write(buf.array(), 0, buf.position());
        });
    }

    /** Reads every tensor of a file (memory-mapped) as float32. */
    public static Contents read(Path file) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        visit(file, (name, dtype, shape, raw) -> {
            float[] values = new float[raw.remaining() / (dtype.equals("F32") ? 4 : 2)];
            for (int i = 0; i < values.length; i++) {
                values[i] = switch (dtype) {
                    case "F32" -> raw.getFloat();
                    case "BF16" -> Float.intBitsToFloat((raw.getShort() & 0xffff) << 16);
                    default -> halfToFloat(raw.getShort());
                };
            }
            tensors.put(name, new Tensor(dtype, shape, values));
        }, meta);
        return new Contents(tensors, meta);
    }

    /** Receives one tensor's raw little-endian bytes (a read-only memory-mapped view, valid during the call). */
    @FunctionalInterface
    public interface Visitor {
        void tensor(String name, String dtype, long[] shape, ByteBuffer data) throws IOException;
    }

    /**
     * Hands every tensor of a model directory (one file, or the shards of its index) to {@code visitor}
     * as a memory-mapped view, without copying it into the Java heap: how a model of any size is loaded.
     */
    public static void visitModel(Path dir, Visitor visitor) throws IOException {
        for (Path f : files(dir)) {
            visit(f, visitor, new LinkedHashMap<>());
        }
    }

    private static java.util.List<Path> files(Path dir) throws IOException {
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.exists(index)) {
            JsonNode map = JSON.readTree(index.toFile()).get("weight_map");
            java.util.Set<String> names = new java.util.TreeSet<>();
            map.fields().forEachRemaining(e -> names.add(e.getValue().asText()));
            return names.stream().map(dir::resolve).toList();
        }
        if (Files.exists(single)) {
            return java.util.List.of(single);
        }
        throw new IOException("no model.safetensors or model.safetensors.index.json in " + dir);
    }

    /** Visits each tensor of one file as a memory-mapped view, after checking its header; collects its metadata. */
    static void visit(Path file, Visitor visitor, Map<String, String> metadata) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new IOException(file + " is not a safetensors file (too short)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > size - 8 || headerLen > 100_000_000) {
                throw new IOException(file + " has an invalid safetensors header length " + headerLen);
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            ch.read(hb, 8);
            JsonNode header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8).trim());
            long dataStart = 8 + headerLen;
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                String dtype = e.getValue().get("dtype").asText();
                JsonNode shapeNode = e.getValue().get("shape");
                long[] shape = new long[shapeNode.size()];
                long n = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeNode.get(i).asLong();
                    n *= shape[i];
                }
                long begin = e.getValue().get("data_offsets").get(0).asLong();
                long end = e.getValue().get("data_offsets").get(1).asLong();
                int width = switch (dtype) {
                    case "F32" -> 4;
                    case "BF16", "F16" -> 2;
                    default -> throw new IOException("tensor " + e.getKey() + " has unsupported dtype " + dtype);
                };
                if (end - begin != n * width || dataStart + end > size) {
                    throw new IOException("tensor " + e.getKey() + " in " + file + " has inconsistent offsets");
                }
                visitor.tensor(e.getKey(), dtype, shape, ch.map(FileChannel.MapMode.READ_ONLY, dataStart + begin,
                        end - begin).order(ByteOrder.LITTLE_ENDIAN));
            }
        }
    }

    /** IEEE 754 half precision to float. */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        if (exp == 31) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}
