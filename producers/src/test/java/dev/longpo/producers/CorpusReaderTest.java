package dev.longpo.producers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusReaderTest {
    @TempDir
    Path dir;

    private final CorpusReader reader = new CorpusReader("text", "id", "title", 200);

    private List<SourceDocument> readAll(Path... paths) {
        List<SourceDocument> out = new ArrayList<>();
        for (CorpusReader.Input f : reader.inputs(List.of(paths))) {
            reader.read(f, out::add);
        }
        return out;
    }

    @Test
    void readsFoldersRecursivelyInSortedOrderTakingFilesByContent() throws Exception {
        Files.createDirectories(dir.resolve("b"));
        Files.writeString(dir.resolve("b/two.md"), "two");
        Files.writeString(dir.resolve("a.txt"), "one");
        Files.writeString(dir.resolve("GPL-3"), "licence text");
        Files.write(dir.resolve("image.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0, 0, 13});
        Files.createDirectories(dir.resolve(".git/objects"));
        Files.writeString(dir.resolve(".git/objects/x"), "not corpus");
        List<SourceDocument> docs = readAll(dir);
        assertEquals(List.of(".git", "GPL-3", "a.txt", "b/two.md", "image.png"),
                docs.stream().map(d -> dir.relativize(Path.of(d.source())).toString()).toList(), "sorted, .git not entered");
        assertEquals(Arrays.asList(null, "licence text", "one", "two", null), docs.stream().map(SourceDocument::text).toList());
        assertEquals("GPL-3", docs.get(1).title());
        assertEquals("a", docs.get(2).title());
        assertTrue(docs.get(0).skipped() && !docs.get(0).isRejected());
        assertEquals("hidden folder, not entered", docs.get(0).error());
        assertTrue(docs.get(4).skipped() && !docs.get(4).isRejected());
        assertEquals("not text: a NUL byte at byte 4", docs.get(4).error());
    }

    @Test
    void aNamedBinaryFileIsRejectedNotSkipped() throws Exception {
        Path bin = dir.resolve("blob");
        Files.write(bin, new byte[] {'a', 0, 'b'});
        SourceDocument d = readAll(bin).get(0);
        assertTrue(d.isRejected());
        assertEquals("not text: a NUL byte at byte 1", d.error());
        assertEquals(3, d.raw().length, "raw bytes kept for the dead-letter topic");
    }

    @Test
    void gzipTextAndJsonlAreReadDecompressedAndBrokenGzipIsRejected() throws Exception {
        Path txt = dir.resolve("notes.txt.gz");
        Files.write(txt, gzip("compressed é".getBytes(StandardCharsets.UTF_8)));
        Path jsonl = dir.resolve("docs.jsonl.gz");
        Files.write(jsonl, gzip("{\"id\":\"g1\",\"text\":\"one\"}\n{\"id\":\"g2\",\"text\":\"two\"}\n"
                .getBytes(StandardCharsets.UTF_8)));
        Path broken = dir.resolve("broken.gz");
        byte[] whole = gzip("some text".getBytes(StandardCharsets.UTF_8));
        Files.write(broken, Arrays.copyOf(whole, whole.length - 6));
        Path bomb = dir.resolve("bomb.gz");
        Files.write(bomb, gzip("z".repeat(5000).getBytes(StandardCharsets.UTF_8)));
        List<SourceDocument> docs = readAll(txt, jsonl, broken, bomb);
        assertEquals("compressed é", docs.get(0).text());
        assertEquals("notes", docs.get(0).title());
        assertEquals(List.of("g1", "g2"), List.of(docs.get(1).id(), docs.get(2).id()));
        assertEquals(jsonl + ":2", docs.get(2).source());
        assertTrue(docs.get(3).isRejected() && docs.get(3).error().startsWith("not a readable gzip file"), docs.get(3).error());
        assertEquals("decompresses to more than 200 bytes, the limit (ingest.max.document.bytes)", docs.get(4).error());
        assertEquals(5, docs.size());
    }

    private static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(b);
        }
        return out.toByteArray();
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
