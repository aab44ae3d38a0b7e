package dev.longpo.text;

/** UTF-8 lengths and offsets of Java strings without encoding them. */
public final class Utf8 {
    private Utf8() {
    }

    /** UTF-8 byte length of {@code s}. */
    public static int length(CharSequence s) {
        return length(s, 0, s.length());
    }

    /** UTF-8 byte length of {@code s[from, to)} (char indices on code point boundaries). */
    public static int length(CharSequence s, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < to && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
