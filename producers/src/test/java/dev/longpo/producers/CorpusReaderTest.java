package dev.longpo.producers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusReaderTest {
    @TempDir
    Path dir;

    private final CorpusReader reader = new CorpusReader(Set.of("txt", "md", "jsonl"), "text", "id", "title", 200);

    private List<SourceDocument> readAll(Path... paths) {
        List<SourceDocument> out = new ArrayList<>();
        for (Path f : reader.files(List.of(paths))) {
            reader.read(f, out::add);
        }
        return out;
    }

    @Test
    void readsFoldersRecursivelyInSortedOrderSkippingOtherExtensions() throws Exception {
        Files.createDirectories(dir.resolve("b"));
        Files.writeString(dir.resolve("b/two.md"), "two");
        Files.writeString(dir.resolve("a.txt"), "one");
        Files.writeString(dir.resolve("image.png"), "x");
        List<SourceDocument> docs = readAll(dir);
        assertEquals(List.of("one", "two"), docs.stream().map(SourceDocument::text).toList());
        assertEquals("a", docs.get(0).title());
    }

    @Test
    void jsonlUsesConfiguredFieldsAndRejectsBadLinesWithReasons() throws Exception {
        Path f = dir.resolve("c.jsonl");
        Files.writeString(f, String.join("\n",
                "{\"id\":\"x1\",\"title\":\"T\",\"text\":\"hello\",\"lang\":\"en\"}",
                "{not json",
                "",
                "{\"id\":\"x2\",\"body\":\"no text field\"}",
                "[1,2]",
                "{\"id\":\"x3\",\"text\":\"   \"}",
                "{\"text\":\"" + "z".repeat(300) + "\"}",
                "{\"text\":\"fine\"}") + "\n");
        List<SourceDocument> docs = readAll(f);
        assertEquals(7, docs.size(), "the blank line is skipped, every other line reported");
        assertEquals("x1", docs.get(0).id());
        assertEquals("en", docs.get(0).metadata().get("lang"));
        assertTrue(docs.get(1).error().startsWith("malformed JSON"), docs.get(1).error());
        assertEquals(f + ":2", docs.get(1).source());
        assertTrue(docs.get(2).error().contains("no string field 'text'"));
        assertTrue(docs.get(3).error().contains("not an object"));
        assertEquals("empty document", docs.get(4).error());
        assertTrue(docs.get(5).error().contains("over the limit"));
        assertNull(docs.get(6).error());
        assertNull(docs.get(6).id());
    }

    @Test
    void rejectsInvalidUtf8EmptyOversizedAndMissingFiles() throws Exception {
        Path bad = dir.resolve("bad.txt");
        Files.write(bad, new byte[] {'o', 'k', ' ', (byte) 0xC3, (byte) 0x28, 'x'});
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "\n\n  ");
        Path big = dir.resolve("big.txt");
        Files.writeString(big, "y".repeat(201));
        Path missing = dir.resolve("missing.txt");
        List<SourceDocument> docs = readAll(bad, empty, big, missing);
        assertEquals("invalid UTF-8 at byte 3", docs.get(0).error());
        assertEquals(6, docs.get(0).raw().length, "raw bytes kept for the dead-letter topic");
        assertEquals("empty document", docs.get(1).error());
        assertTrue(docs.get(2).error().contains("201 bytes, over the limit of 200"));
        assertEquals("no such file", docs.get(3).error());
        assertEquals("ok é", CorpusReader.strictUtf8("ok é".getBytes(StandardCharsets.UTF_8)));
    }
}
