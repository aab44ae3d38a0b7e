package dev.longpo.producers;

import dev.longpo.text.Tokenizer;
import dev.longpo.text.Utf8;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cuts a document into chunks of at most {@code maxTokens} tokens along paragraph boundaries (blank
 * lines). Paragraphs are packed greedily; a paragraph longer than a chunk is split at sentence ends,
 * then at whitespace, then (a single overlong word) at code point boundaries. Separators between
 * chunks belong to no chunk. Offsets are UTF-8 byte offsets into the document, so
 * {@code utf8(doc)[start, end) == utf8(chunk.text)}.
 */
public final class Chunker {
    private static final Pattern PARAGRAPH_BREAK = Pattern.compile("\\n[ \\t\\r\\f]*\\n\\s*");
    private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?])\\s+");
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");

    private final Tokenizer tokenizer;
    private final int maxTokens;

    public Chunker(Tokenizer tokenizer, int maxTokens) {
        if (maxTokens < 8) {
            throw new IllegalArgumentException("max chunk tokens must be at least 8, got " + maxTokens);
        }
        this.tokenizer = tokenizer;
        this.maxTokens = maxTokens;
    }

    /** One chunk: char span [start, end) in the document, UTF-8 byte span, token count and text. */
    public record Piece(int startChar, int endChar, long startByte, long endByte, int tokens, String text) {
    }

    public List<Piece> chunk(String doc) {
        List<int[]> units = new ArrayList<>();
        for (int[] para : split(doc, 0, doc.length(), PARAGRAPH_BREAK)) {
            addUnits(doc, para[0], para[1], 0, units);
        }
        List<Piece> out = new ArrayList<>();
        int i = 0;
        long bytePos = 0;
        int charPos = 0;
        while (i < units.size()) {
            int start = units.get(i)[0];
            int end = units.get(i)[1];
            int j = i + 1;
            while (j < units.size() && tokens(doc, start, units.get(j)[1]) <= maxTokens) {
                end = units.get(j)[1];
                j++;
            }
            bytePos += Utf8.length(doc, charPos, start);
            long len = Utf8.length(doc, start, end);
            String text = doc.substring(start, end);
            out.add(new Piece(start, end, bytePos, bytePos + len, tokenizer.count(text), text));
            bytePos += len;
            charPos = end;
            i = j;
        }
        return out;
    }

    /** Splits [from, to) into units of at most maxTokens, refining paragraph -> sentence -> word -> code points. */
    private void addUnits(String doc, int from, int to, int level, List<int[]> units) {
        if (from >= to) {
            return;
        }
        if (tokens(doc, from, to) <= maxTokens) {
            units.add(new int[] {from, to});
            return;
        }
        if (level < 2) {
            List<int[]> parts = split(doc, from, to, level == 0 ? SENTENCE_END : WHITESPACE);
            if (parts.size() > 1) {
                for (int[] p : parts) {
                    addUnits(doc, p[0], p[1], level + 1, units);
                }
                return;
            }
            addUnits(doc, from, to, level + 1, units);
            return;
        }
        int pos = from;
        while (pos < to) {
            int end = longestPrefix(doc, pos, to);
            units.add(new int[] {pos, end});
            pos = end;
        }
    }

    /** The largest end (on a code point boundary) with tokens(doc[pos, end)) <= maxTokens; at least one code point. */
    private int longestPrefix(String doc, int pos, int to) {
        int[] ends = doc.substring(pos, to).codePoints().map(Character::charCount).toArray();
        for (int k = 0, acc = pos; k < ends.length; k++) {
            acc += ends[k];
            ends[k] = acc;
        }
        int lo = 0;
        int hi = ends.length - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (tokens(doc, pos, ends[mid]) <= maxTokens) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return ends[lo];
    }

    private int tokens(String doc, int from, int to) {
        return tokenizer.count(doc.substring(from, to));
    }

    /** Non-empty spans of [from, to) between matches of {@code sep}, each trimmed of surrounding whitespace. */
    private static List<int[]> split(String doc, int from, int to, Pattern sep) {
        List<int[]> out = new ArrayList<>();
        Matcher m = sep.matcher(doc).region(from, to);
        int pos = from;
        while (m.find()) {
            addTrimmed(doc, pos, m.start(), out);
            pos = m.end();
        }
        addTrimmed(doc, pos, to, out);
        return out;
    }

    private static void addTrimmed(String doc, int from, int to, List<int[]> out) {
        while (from < to && Character.isWhitespace(doc.charAt(from))) {
            from++;
        }
        while (to > from && Character.isWhitespace(doc.charAt(to - 1))) {
            to--;
        }
        if (from < to) {
            out.add(new int[] {from, to});
        }
    }
}
