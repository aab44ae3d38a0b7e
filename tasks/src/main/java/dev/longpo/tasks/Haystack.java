package dev.longpo.tasks;

import java.util.List;
import java.util.Random;

/**
 * Filler text of an exact length in bytes (ASCII only, so one byte is one token of the byte
 * tokenizer), with sentences inserted at given depths, snapped to the sentence boundary at or before
 * the depth's offset.
 */
public final class Haystack {
    /** RULER's "noise" haystack: the same few sentences over and over. */
    public static final List<String> NOISE = List.of("The grass is green.", "The sky is blue.", "The sun is yellow.",
            "Here we go.", "There and back again.");
    /** Plain prose sentences, mixed at random: a haystack that looks like a document. */
    public static final List<String> PROSE = List.of("The harbor was quiet in the early morning.",
            "A clerk wrote every ship into the ledger.", "Fog rolled over the pier before noon.",
            "The orchard had apple trees on the upper terrace.", "Workers pruned the branches in late winter.",
            "The river ran fast below the gorge.", "A survey party measured the banks at each station.",
            "The keeper lit the lamp at sunset.", "Storms came from the west in autumn.",
            "Traders carried salt, copper and cloth.", "The market opened when the bell rang twice.",
            "Children walked along the old stone wall.", "Snow covered the road to the mill.",
            "The bridge was built where the banks were rock.");

    private Haystack() {
    }

    /** {@code bytes} of filler from {@code sentences} (in order, cycled, or shuffled when {@code shuffle}). */
    public static String filler(int bytes, List<String> sentences, boolean shuffle, Random rnd) {
        StringBuilder sb = new StringBuilder(bytes + 64);
        int i = 0;
        while (sb.length() < bytes) {
            String s = shuffle ? sentences.get(rnd.nextInt(sentences.size())) : sentences.get(i++ % sentences.size());
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(s);
        }
        return sb.substring(0, bytes);
    }

    /**
     * Filler of {@code total} bytes in all, with {@code inserts[k]} placed at {@code depths[k]} (0 = start,
     * 1 = end). Inserts are separated from the filler by single spaces; the filler shrinks to make room.
     */
    public static String withInserts(int total, List<String> inserts, double[] depths, List<String> sentences,
                                     boolean shuffle, Random rnd) {
        int insertBytes = 0;
        for (String s : inserts) {
            insertBytes += s.length() + 1;
        }
        int fillBytes = Math.max(0, total - insertBytes);
        String fill = filler(fillBytes, sentences, shuffle, rnd);
        int[] at = new int[inserts.size()];
        for (int k = 0; k < at.length; k++) {
            at[k] = snap(fill, (int) Math.round(depths[k] * fill.length()));
        }
        Integer[] order = new Integer[at.length];
        for (int k = 0; k < order.length; k++) {
            order[k] = k;
        }
        java.util.Arrays.sort(order, (a, b) -> at[a] != at[b] ? Integer.compare(at[a], at[b]) : Integer.compare(a, b));
        StringBuilder out = new StringBuilder(total + 8);
        int pos = 0;
        for (int k : order) {
            out.append(fill, pos, at[k]);
            if (out.length() > 0 && out.charAt(out.length() - 1) != ' ') {
                out.append(' ');
            }
            out.append(inserts.get(k));
            if (at[k] < fill.length() && fill.charAt(at[k]) != ' ') {
                out.append(' ');
            }
            pos = at[k];
        }
        out.append(fill, pos, fill.length());
        String s = out.toString();
        if (s.length() > total) {
            return s.substring(0, total);
        }
        return s.length() < total ? s + filler(total - s.length(), sentences, shuffle, rnd) : s;
    }

    /** The start of the sentence containing {@code pos} (just after a ". "), or 0. */
    static int snap(String fill, int pos) {
        if (pos >= fill.length()) {
            return fill.length();
        }
        int dot = fill.lastIndexOf(". ", Math.max(0, pos - 1));
        return dot < 0 ? 0 : dot + 2;
    }
}
