package dev.longpo.tasks;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The demo corpus: long documents of prose filler with facts ("The magic number for apple is 4821.")
 * spread through them, one fact per paragraph group of about {@code factEvery} tokens, in paragraphs
 * separated by blank lines so the ingestion chunker cuts them near the short window. Written as JSONL
 * ({@code id}, {@code title}, {@code text}); deterministic for a seed.
 */
public final class CorpusGenerator {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CorpusGenerator() {
    }

    /** One document of about {@code tokens} bytes with a fact every {@code factEvery} bytes. */
    public static String document(int tokens, int factEvery, Random rnd) {
        List<String> keys = new ArrayList<>(Tasks.KEYS);
        Collections.shuffle(keys, rnd);
        StringBuilder doc = new StringBuilder();
        int fact = 0;
        while (doc.length() < tokens) {
            int paragraph = Math.min(factEvery, tokens - doc.length()) - 2;
            if (paragraph < 40) {
                break;
            }
            String needle = String.format(Tasks.NEEDLE, keys.get(fact++ % keys.size()), Tasks.number(rnd));
            String text = Haystack.withInserts(paragraph, List.of(needle), new double[] {rnd.nextDouble()},
                    Haystack.PROSE, true, rnd);
            doc.append(doc.length() == 0 ? "" : "\n\n").append(text.trim());
        }
        return doc.toString();
    }

    /**
     * Writes {@code docs} documents of {@code minTokens..maxTokens} to {@code out}, with ids
     * {@code <idPrefix>-0000}, ...; returns the total bytes.
     */
    public static long write(Path out, String idPrefix, int docs, int minTokens, int maxTokens, int factEvery, long seed)
            throws IOException {
        Random rnd = new Random(seed);
        long total = 0;
        Files.createDirectories(out.toAbsolutePath().getParent());
        try (BufferedWriter w = Files.newBufferedWriter(out)) {
            for (int i = 0; i < docs; i++) {
                int len = minTokens + rnd.nextInt(Math.max(1, maxTokens - minTokens + 1));
                String text = document(len, factEvery, rnd);
                total += text.length();
                w.write(JSON.createObjectNode().put("id", String.format("%s-%04d", idPrefix, i))
                        .put("title", "Document " + idPrefix + "-" + i).put("text", text).toString());
                w.write('\n');
            }
        }
        return total;
    }
}
