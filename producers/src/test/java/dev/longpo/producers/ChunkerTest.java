package dev.longpo.producers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.tasks.CorpusGenerator;
import dev.longpo.text.ByteTokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkerTest {
    private static final ByteTokenizer BYTES = ByteTokenizer.INSTANCE;

    /** Every chunk's offsets must address exactly its text in the document's UTF-8 bytes. */
    private static void assertOffsetsAddressText(String doc, List<Chunker.Piece> pieces, int max) {
        byte[] utf8 = doc.getBytes(StandardCharsets.UTF_8);
        long prevEnd = 0;
        for (Chunker.Piece p : pieces) {
            byte[] slice = Arrays.copyOfRange(utf8, (int) p.startByte(), (int) p.endByte());
            assertArrayEquals(p.text().getBytes(StandardCharsets.UTF_8), slice);
            assertEquals(p.text(), doc.substring(p.startChar(), p.endChar()));
            assertEquals(BYTES.count(p.text()), p.tokens());
            assertTrue(p.tokens() <= max, "chunk of " + p.tokens() + " tokens > " + max);
            assertTrue(p.startByte() >= prevEnd, "chunks overlap or go backwards");
            prevEnd = p.endByte();
        }
    }

    @Test
    void packsWholeParagraphsUpToTheLimit() {
        String a = "a".repeat(30);
        String b = "b".repeat(30);
        String c = "c".repeat(30);
        String doc = a + "\n\n" + b + "\n\n" + c;
        List<Chunker.Piece> pieces = new Chunker(BYTES, 64).chunk(doc);
        assertEquals(2, pieces.size());
        assertEquals(a + "\n\n" + b, pieces.get(0).text());
        assertEquals(c, pieces.get(1).text());
        assertEquals(0, pieces.get(0).startByte());
        assertEquals(62, pieces.get(0).endByte());
        assertEquals(64, pieces.get(1).startByte());
        assertOffsetsAddressText(doc, pieces, 64);
    }

    @Test
    void aParagraphLongerThanAChunkSplitsAtSentencesThenWords() {
        String sentence = "The quick brown fox jumps over the lazy dog. ";
        String para = sentence.repeat(10).trim();
        List<Chunker.Piece> pieces = new Chunker(BYTES, 100).chunk(para);
        assertTrue(pieces.size() >= 5);
        for (Chunker.Piece p : pieces) {
            assertTrue(p.text().endsWith("dog."), "split inside a sentence: '" + p.text() + "'");
        }
        assertOffsetsAddressText(para, pieces, 100);

        String words = "word ".repeat(100).trim();
        List<Chunker.Piece> w = new Chunker(BYTES, 32).chunk(words);
        for (Chunker.Piece p : w) {
            assertFalse(p.text().startsWith(" ") || p.text().endsWith(" "));
            assertTrue(p.text().matches("(word )*word"), p.text());
        }
        assertOffsetsAddressText(words, w, 32);
    }

    @Test
    void multibyteCharactersAreNeverCut() {
        String word = "日本語🙂é".repeat(40); // one "word" far longer than a chunk: 3+3+3+4+2 bytes per unit
        List<Chunker.Piece> pieces = new Chunker(BYTES, 16).chunk(word);
        assertOffsetsAddressText(word, pieces, 16);
        StringBuilder joined = new StringBuilder();
        pieces.forEach(p -> joined.append(p.text()));
        assertEquals(word, joined.toString());
        for (Chunker.Piece p : pieces) {
            assertTrue(p.tokens() > 12, "greedy split should fill chunks, got " + p.tokens());
        }
    }

    @Test
    void randomDocumentsKeepEveryNonSpaceCharacterInOrder() {
        Random rnd = new Random(7);
        String alphabet = "abc de. fg! ü€🙂\n\n\n  x";
        for (int trial = 0; trial < 200; trial++) {
            StringBuilder sb = new StringBuilder();
            int n = rnd.nextInt(600);
            for (int i = 0; i < n; i++) {
                sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, rnd.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            }
            String doc = sb.toString();
            int max = 8 + rnd.nextInt(60);
            List<Chunker.Piece> pieces = new Chunker(BYTES, max).chunk(doc);
            assertOffsetsAddressText(doc, pieces, max);
            StringBuilder joined = new StringBuilder();
            pieces.forEach(p -> joined.append(p.text()));
            assertEquals(doc.replaceAll("\\s", ""), joined.toString().replaceAll("\\s", ""));
        }
    }

    @Test
    void blankDocumentHasNoChunksAndTinyLimitsAreRefused() {
        assertEquals(List.of(), new Chunker(BYTES, 64).chunk(" \n\n \t"));
        assertThrows(IllegalArgumentException.class, () -> new Chunker(BYTES, 2));
    }

    @Test
    void theDemoCorpusChunksIntoOneParagraphPerShortWindow() {
        String doc = CorpusGenerator.document(2000, 240, new Random(1));
        List<Chunker.Piece> chunks = new Chunker(BYTES, 256).chunk(doc);
        assertEquals(doc.split("\n\n").length, chunks.size(), "each paragraph is one chunk of the short window");
        assertOffsetsAddressText(doc, chunks, 256);
    }
}
