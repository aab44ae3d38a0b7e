package dev.longpo.text;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * One token per UTF-8 byte (ids 0-255) plus five special tokens. Needs no vocabulary file, so the
 * mini model and every test run offline; token counts equal UTF-8 byte counts.
 */
public final class ByteTokenizer implements Tokenizer {
    public static final int PAD = 256;
    public static final int BOS = 257;
    public static final int EOS = 258;
    public static final int USER = 259;
    public static final int ASSISTANT = 260;
    /** Vocabulary size, rounded up to a multiple of 8 for the embedding matrix. */
    public static final int VOCAB_SIZE = 264;

    public static final ByteTokenizer INSTANCE = new ByteTokenizer();

    @Override
    public String id() {
        return "byte";
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            ids[i] = b[i] & 0xff;
        }
        return ids;
    }

    @Override
    public int count(String text) {
        return Utf8.length(text);
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length);
        for (int id : ids) {
            if (id >= 0 && id < 256) {
                out.write(id);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int[] bos() {
        return new int[] {BOS};
    }

    @Override
    public int[] userPrefix() {
        return new int[] {USER};
    }

    @Override
    public int[] assistantPrefix() {
        return new int[] {ASSISTANT};
    }

    @Override
    public int eos() {
        return EOS;
    }

    @Override
    public int pad() {
        return PAD;
    }
}
