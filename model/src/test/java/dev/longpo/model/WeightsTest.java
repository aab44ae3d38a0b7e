package dev.longpo.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.longpo.files.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightsTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void engine() {
        TorchRuntime.inferenceThread();
    }

    /** An independent minimal safetensors writer: header JSON, then raw little-endian bytes. */
    private static void writeRaw(Path file, String headerJson, byte[] data) throws IOException {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.write(h);
        out.write(data);
        Files.write(file, out.toByteArray());
    }

    @Test
    void readsF32Bf16AndF16FromAnIndependentWriter() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(8 + 6 + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putFloat(1.5f).putFloat(-2.25f);
        // BF16 is the top 16 bits of a float32: 1.0 = 0x3F80, -3.0 = 0xC040, 0.15625 = 0x3E20
        b.putShort((short) 0x3F80).putShort((short) 0xC040).putShort((short) 0x3E20);
        // F16: 1.0 = 0x3C00, -0.5 = 0xB800
        b.putShort((short) 0x3C00).putShort((short) 0xB800);
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[3,1],\"data_offsets\":[8,14]},"
                + "\"c\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[14,18]},"
                + "\"__metadata__\":{\"format\":\"pt\"}}";
        Path f = dir.resolve("x.safetensors");
        writeRaw(f, header, b.array());
        SafeTensors.Contents c = SafeTensors.read(f);
        assertArrayEquals(new float[] {1.5f, -2.25f}, c.tensors().get("a").data());
        assertArrayEquals(new float[] {1.0f, -3.0f, 0.15625f}, c.tensors().get("b").data());
        assertArrayEquals(new long[] {3, 1}, c.tensors().get("b").shape());
        assertArrayEquals(new float[] {1.0f, -0.5f}, c.tensors().get("c").data());
        assertEquals("pt", c.metadata().get("format"));
        assertEquals(65504f, SafeTensors.halfToFloat((short) 0x7BFF));
        assertEquals(0x1p-24f, SafeTensors.halfToFloat((short) 0x0001));
    }

    @Test
    void rejectsCorruptFiles() throws Exception {
        Path f = dir.resolve("bad.safetensors");
        writeRaw(f, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]);
        assertThrows(IOException.class, () -> SafeTensors.read(f));
        writeRaw(f, "{\"a\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
        assertThrows(IOException.class, () -> SafeTensors.read(f));
    }

    @Test
    void saveThenLoadGivesIdenticalLogitsAndAShardedCheckpointLoads() throws Exception {
        try (LlamaModel model = TinyModels.random(31); NDManager m = model.manager().newSubManager()) {
            model.setRopeTheta(33_000);
            String sha = ModelStore.save(model, dir.resolve("m"), Map.of());
            assertEquals(sha, AtomicFiles.sha256(dir.resolve("m/model.safetensors")));
            int[] tokens = TinyModels.tokens(15, 2);
            float[] before = model.forward(Tensors.ints(m, tokens, new Shape(1, 15)), null, null).toFloatArray();
            try (ModelStore.Loaded loaded = ModelStore.load(dir.resolve("m"), Device.cpu());
                 NDManager m2 = loaded.model().manager().newSubManager()) {
                assertEquals(33_000, loaded.model().ropeTheta());
                float[] after = loaded.model().forward(Tensors.ints(m2, tokens, new Shape(1, 15)), null, null)
                        .toFloatArray();
                assertArrayEquals(before, after);
            }

            // split the same weights into two shards with an index, as Hugging Face does for big models
            Path sharded = dir.resolve("sharded");
            Files.createDirectories(sharded);
            Files.copy(dir.resolve("m/config.json"), sharded.resolve("config.json"));
            Map<String, float[]> all = model.toArrays();
            Map<String, float[]> a = new LinkedHashMap<>();
            Map<String, float[]> b = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            StringBuilder index = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
            int i = 0;
            for (var e : LlamaModel.shapes(model.config()).entrySet()) {
                shapes.put(e.getKey(), e.getValue().getShape());
                boolean first = i++ % 2 == 0;
                (first ? a : b).put(e.getKey(), all.get(e.getKey()));
                index.append(i > 1 ? "," : "").append('"').append(e.getKey()).append("\":\"")
                        .append(first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors").append('"');
            }
            index.append("}}");
            SafeTensors.write(sharded.resolve("model-00001-of-00002.safetensors"), a, shapes, Map.of());
            SafeTensors.write(sharded.resolve("model-00002-of-00002.safetensors"), b, shapes, Map.of());
            Files.writeString(sharded.resolve("model.safetensors.index.json"), index);
            try (ModelStore.Loaded loaded = ModelStore.load(sharded, Device.cpu());
                 NDManager m3 = loaded.model().manager().newSubManager()) {
                assertArrayEquals(before, loaded.model().forward(Tensors.ints(m3, tokens, new Shape(1, 15)), null, null)
                        .toFloatArray());
            }
        }
    }

    @Test
    void aLoadedModelOwnsItsWeightsAfterTheLoadingBuffersAreGone() throws Exception {
        try (LlamaModel model = TinyModels.random(33)) {
            ModelStore.save(model, dir.resolve("m"), Map.of());
            try (LlamaModel loaded = ModelStore.loadModel(dir.resolve("m"), Device.cpu())) {
                // free the staging buffers and reuse their memory, as a long-running worker does
                for (int round = 0; round < 5; round++) {
                    System.gc();
                    java.util.List<ByteBuffer> churn = new java.util.ArrayList<>();
                    for (int i = 0; i < 64; i++) {
                        ByteBuffer b = ByteBuffer.allocateDirect(64 * 1024);
                        while (b.hasRemaining()) {
                            b.put((byte) 0x7f);
                        }
                        churn.add(b);
                    }
                    Thread.sleep(20);
                }
                for (var e : model.parameters().entrySet()) {
                    assertArrayEquals(e.getValue().toFloatArray(), loaded.parameters().get(e.getKey()).toFloatArray(),
                            e.getKey());
                }
            }
        }
    }

    @Test
    void aMissingTensorIsAClearError() throws Exception {
        try (LlamaModel model = TinyModels.random(32)) {
            ModelStore.save(model, dir.resolve("m"), Map.of());
        }
        Map<String, float[]> none = new LinkedHashMap<>();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LlamaModel.fromArrays(TinyModels.config(), Device.cpu(), none));
        assertTrue(e.getMessage().contains("model.embed_tokens.weight"), e.getMessage());
    }

    @Test
    void huggingFaceTokenizerJsonLoadsOffline() throws Exception {
        String json = """
                {"version":"1.0","truncation":null,"padding":null,
                 "added_tokens":[{"id":0,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                                 {"id":1,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                                 {"id":3,"content":"[INST]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
                                 {"id":4,"content":"[/INST]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
                 "normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
                 "model":{"type":"WordLevel","vocab":{"<s>":0,"</s>":1,"[UNK]":2,"[INST]":3,"[/INST]":4,"the":5,"key":6,"is":7,"seven":8},
                          "unk_token":"[UNK]"}}
                """;
        Files.writeString(dir.resolve("tokenizer.json"), json);
        HfTokenizer tok = HfTokenizer.load(dir);
        assertArrayEquals(new int[] {5, 6, 7, 8}, tok.encode("the key is seven"));
        assertEquals(1, tok.eos(), "without tokenizer_config.json: </s> ends a turn of the [INST] template");
        assertEquals(9, tok.vocabSize());
        assertEquals(2, tok.encode("unknown")[0]);
        int[] longText = tok.encode("the ".repeat(2000));
        assertEquals(2000, longText.length, "no silent truncation at 512 tokens");
    }
}
