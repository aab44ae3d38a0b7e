package dev.longpo.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} through DJL's bindings, for real checkpoints. Truncation is off
 * (DJL would silently cut at 512 tokens). Chat markers default to the Llama-2/Mistral {@code [INST]}
 * layout; special token names ({@code <s>}, {@code </s>}) are looked up in the vocabulary.
 */
public final class HfTokenizer implements Tokenizer {
    private final HuggingFaceTokenizer hf;
    private final String id;
    private final int[] bos;
    private final int eos;
    private final int pad;
    private final int[] user;
    private final int[] assistant;
    private final int vocab;

    private HfTokenizer(HuggingFaceTokenizer hf, String id, String bosToken, String eosToken, int vocab) {
        this.hf = hf;
        this.id = id;
        long[] b = hf.encode(bosToken, false, false).getIds();
        this.bos = b.length == 1 ? new int[] {(int) b[0]} : new int[0];
        long[] e = hf.encode(eosToken, false, false).getIds();
        if (e.length != 1) {
            throw new IllegalArgumentException("end-of-sequence token " + eosToken + " is not a single token");
        }
        this.eos = (int) e[0];
        this.pad = eos;
        this.user = toInts(hf.encode("[INST] ", false, false).getIds());
        this.assistant = toInts(hf.encode(" [/INST]", false, false).getIds());
        this.vocab = vocab;
    }

    /** Loads {@code dir/tokenizer.json} (or a tokenizer.json path) with {@code <s>} / {@code </s>} specials. */
    public static HfTokenizer load(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "false",
                "truncation", "false", "padding", "false"));
        return new HfTokenizer(hf, "hf:" + file.toAbsolutePath(), "<s>", "</s>", vocabSize(file));
    }

    /** One more than the largest id in the vocabulary or the added tokens. */
    private static int vocabSize(Path file) throws IOException {
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        int max = -1;
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            for (JsonNode id : vocab) {
                max = Math.max(max, id.asInt());
            }
        } else if (vocab.isArray()) {
            max = vocab.size() - 1;
        }
        for (JsonNode t : root.path("added_tokens")) {
            max = Math.max(max, t.path("id").asInt());
        }
        return max + 1;
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public int[] encode(String text) {
        Encoding enc = hf.encode(text, false, false);
        return toInts(enc.getIds());
    }

    @Override
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return hf.decode(l, true);
    }

    @Override
    public int[] bos() {
        return bos.clone();
    }

    @Override
    public int[] userPrefix() {
        return user.clone();
    }

    @Override
    public int[] assistantPrefix() {
        return assistant.clone();
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public int pad() {
        return pad;
    }
}
