package dev.longpo.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusGeneratorTest {
    @TempDir
    Path dir;

    @Test
    void documentsHaveTheirLengthAFactPerParagraphAndParagraphsWithinTheWindow() throws Exception {
        String doc = CorpusGenerator.document(2000, 240, new Random(1));
        assertTrue(doc.length() > 1700 && doc.length() <= 2000, "length " + doc.length());
        String[] paragraphs = doc.split("\n\n");
        for (String p : paragraphs) {
            assertEquals(1, p.split("The magic number for", -1).length - 1, "one fact per paragraph: " + p);
        }
        for (String p : paragraphs) {
            assertTrue(p.length() <= 238, "a paragraph fits the short window of 256: " + p.length());
        }
        Path a = dir.resolve("a.jsonl");
        Path b = dir.resolve("b.jsonl");
        CorpusGenerator.write(a, "demo", 5, 500, 1500, 240, 3);
        CorpusGenerator.write(b, "demo", 5, 500, 1500, 240, 3);
        assertEquals(Files.readString(a), Files.readString(b), "deterministic for a seed");
        assertEquals(5, Files.readAllLines(a).size());
    }
}
