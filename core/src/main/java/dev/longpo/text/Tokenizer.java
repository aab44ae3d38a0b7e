package dev.longpo.text;

/**
 * Text to token ids and back, plus the few markers the chat format needs. The byte-level tokenizer
 * serves the mini model; real checkpoints use their Hugging Face {@code tokenizer.json} and render
 * conversations with their own chat template ({@link #chatFormat()}).
 */
public interface Tokenizer {
    /** Stable id recorded in events so token counts can be interpreted later, e.g. {@code byte}. */
    String id();

    int vocabSize();

    /** Tokens of plain text, no special tokens added. */
    int[] encode(String text);

    /** Text of the ids; special tokens are skipped. */
    String decode(int[] ids);

    /** Text of the ids with special tokens written out (for showing a rendered prompt). */
    default String decodeWithSpecials(int[] ids) {
        return decode(ids);
    }

    /** Number of tokens {@link #encode} would return. */
    default int count(String text) {
        return encode(text).length;
    }

    /** Begin-of-sequence tokens (may be empty). */
    int[] bos();

    /** Opens a user turn. */
    int[] userPrefix();

    /** Closes a user turn and opens an assistant turn. */
    int[] assistantPrefix();

    /** Ends an assistant turn; generation stops here. */
    int eos();

    /** Every token that ends generation: {@link #eos()} and any other end-of-sequence id the model declares. */
    default java.util.Set<Integer> stopTokens() {
        return java.util.Set.of(eos());
    }

    /** How conversations are laid out in tokens for this tokenizer's model (markers, or the model's chat template). */
    default ChatFormat chatFormat() {
        return new ChatFormat(this);
    }

    /** Padding id (never scored). */
    int pad();
}
