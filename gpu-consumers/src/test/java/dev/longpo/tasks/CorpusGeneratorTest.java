package dev.longpo.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.producers.Chunker;
import dev.longpo.text.ByteTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusGeneratorTest {
    @TempDir
    Path dir;

    @Test
    void documentsHaveTheirLengthAFactPerParagraphAndChunkNearTheWindow() throws Exception {
        String doc = CorpusGenerator.document(2000, 240, new Random(1));
        assertTrue(doc.length() > 1700 && doc.length() <= 2000, "length " + doc.length());
        String[] paragraphs = doc.split("\n\n");
        for (String p : paragraphs) {
            assertEquals(1, p.split("The magic number for", -1).length - 1, "one fact per paragraph: " + p);
        }
        List<Chunker.Piece> chunks = new Chunker(ByteTokenizer.INSTANCE, 256).chunk(doc);
        assertEquals(paragraphs.length, chunks.size(), "each paragraph is one chunk of the short window");
        Path a = dir.resolve("a.jsonl");
        Path b = dir.resolve("b.jsonl");
        CorpusGenerator.write(a, "demo", 5, 500, 1500, 240, 3);
        CorpusGenerator.write(b, "demo", 5, 500, 1500, 240, 3);
        assertEquals(Files.readString(a), Files.readString(b), "deterministic for a seed");
        assertEquals(5, Files.readAllLines(a).size());
    }
}
