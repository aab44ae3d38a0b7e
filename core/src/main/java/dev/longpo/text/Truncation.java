package dev.longpo.text;

/** Cutting text to a token budget at a character boundary. */
public final class Truncation {
    private Truncation() {
    }

    /** The longest prefix of {@code text} (ending on a code point boundary) with at most {@code maxTokens} tokens. */
    public static String prefix(String text, Tokenizer tok, int maxTokens) {
        if (tok.count(text) <= maxTokens) {
            return text;
        }
        int lo = 0;
        int hi = text.length();
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (mid < text.length() && Character.isLowSurrogate(text.charAt(mid))) {
                mid--;
                if (mid <= lo) {
                    hi = mid;
                    continue;
                }
            }
            if (tok.count(text.substring(0, mid)) <= maxTokens) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return text.substring(0, lo);
    }
}
