package dev.longpo.producers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.text.ByteTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterTry;

/**
 * The corpus reader and the chunker under thousands of generated inputs: arbitrary bytes (binary, invalid
 * UTF-8, NUL, empty, oversize, gzip or not), arbitrary JSONL lines and arbitrary Unicode text. Nothing
 * throws; every input comes out as a document, a rejection with a reason or (in a folder) a skip with a
 * reason; every good text is read byte for byte; every line of a JSONL file is accounted for; and every
 * chunk's offsets address its text.
 */
class IngestionFuzzTest {
    private static final int MAX_BYTES = 512;
    private final CorpusReader reader = new CorpusReader("text", "id", "title", MAX_BYTES);
    private final Path dir;

    IngestionFuzzTest() throws IOException {
        dir = Files.createTempDirectory("fuzz-ingest-");
    }

    @AfterTry
    void clean() throws IOException {
        try (var walk = Files.walk(dir)) {
            walk.sorted((a, b) -> b.compareTo(a)).filter(p -> !p.equals(dir)).forEach(p -> p.toFile().delete());
        }
    }

    /** Unicode text with no lone surrogates (UTF-8 cannot carry them): any BMP character, and astral emoji between runs. */
    static Arbitrary<String> unicode(int maxChars) {
        return Arbitraries.strings().withCharRange('\u0000', '\uD7FF').withCharRange('\uE000', '\uFFFF')
                .ofMaxLength(maxChars).list().ofMaxSize(3).map(runs -> String.join("\uD83D\uDE42", runs));
    }

    @Provide
    Arbitrary<byte[]> contents() {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(MAX_BYTES + 64);
        Arbitrary<byte[]> text = unicode(200).map(s -> s.getBytes(StandardCharsets.UTF_8));
        return Arbitraries.oneOf(random, text);
    }

    @Property(tries = 1500)
    void anyFileInAFolderIsReadRejectedOrSkippedWithAReason(@ForAll("contents") byte[] content, @ForAll boolean gzip,
                                                            @ForAll("names") String name) throws IOException {
        Path f = dir.resolve(name + (gzip ? ".gz" : ""));
        Files.write(f, gzip ? gzip(content) : content);
        List<SourceDocument> out = read(dir);
        assertEquals(1, out.size(), "one outcome per file");
        SourceDocument d = out.get(0);
        assertEquals(f.toString(), d.source());
        boolean binary = indexOf(content, (byte) 0) >= 0;
        String text = strict(content);
        if (d.error() == null) {
            assertFalse(binary);
            assertNotNull(text, "only valid UTF-8 is read as text");
            assertArrayEquals(content, d.text().getBytes(StandardCharsets.UTF_8), "read byte for byte");
            assertArrayEquals(content, d.raw());
        } else {
            assertFalse(d.error().isBlank(), "a reason");
            assertNull(d.text());
            if (d.skipped()) {
                assertTrue(binary, "only a file with a NUL byte is skipped: " + d.error());
            } else {
                assertTrue(text == null || text.isBlank() || content.length > MAX_BYTES, "rejected for a reason the"
                        + " content shows: " + d.error());
            }
        }
    }

    @Provide
    Arbitrary<String> names() {
        return Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(8)
                .flatMap(base -> Arbitraries.of("", ".txt", ".md", ".bin", ".png").map(ext -> base + ext));
    }

    @Provide
    Arbitrary<List<String>> jsonlLines() {
        Arbitrary<String> good = unicode(40).map(IngestionFuzzTest::jsonString)
                .map(t -> "{\"text\":" + t + "}");
        Arbitrary<String> junk = Arbitraries.strings().withChars("{}[]\":, abc\\0123").ofMaxLength(30);
        return Arbitraries.oneOf(good, junk).list().ofMaxSize(30);
    }

    @Property(tries = 1500)
    void everyLineOfAJsonlFileIsADocumentOrARejectionWithItsLineNumber(@ForAll("jsonlLines") List<String> lines,
                                                                       @ForAll boolean gzip) throws IOException {
        Path f = dir.resolve(gzip ? "c.jsonl.gz" : "c.jsonl");
        byte[] body = (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8);
        Files.write(f, gzip ? gzip(body) : body);
        List<SourceDocument> out = read(f);
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                expected.add(i + 1);
            }
        }
        assertEquals(expected, out.stream().map(d -> Integer.parseInt(d.source().substring(d.source().lastIndexOf(':') + 1)))
                .toList(), "every non-blank line once, in order");
        for (SourceDocument d : out) {
            assertTrue(d.error() == null ? d.text() != null && !d.text().isBlank() : !d.error().isBlank());
            assertFalse(d.skipped());
        }
    }

    @Property(tries = 2000)
    void everyChunkAddressesItsTextAndFitsTheLimit(@ForAll("paragraphs") String doc,
                                                   @ForAll @IntRange(min = 8, max = 200) int max) {
        List<Chunker.Piece> pieces = new Chunker(ByteTokenizer.INSTANCE, max).chunk(doc);
        byte[] utf8 = doc.getBytes(StandardCharsets.UTF_8);
        long prevEnd = 0;
        StringBuilder covered = new StringBuilder();
        for (Chunker.Piece p : pieces) {
            assertArrayEquals(p.text().getBytes(StandardCharsets.UTF_8),
                    Arrays.copyOfRange(utf8, (int) p.startByte(), (int) p.endByte()));
            assertEquals(p.text(), doc.substring(p.startChar(), p.endChar()));
            assertTrue(p.tokens() <= max, p.tokens() + " tokens > " + max);
            assertTrue(p.startByte() >= prevEnd, "in order, no overlap");
            prevEnd = p.endByte();
            covered.append(p.text());
        }
        assertEquals(doc.codePoints().filter(c -> !Character.isWhitespace(c)).count(),
                covered.codePoints().filter(c -> !Character.isWhitespace(c)).count(), "no text lost between chunks");
    }

    @Provide
    Arbitrary<String> paragraphs() {
        Arbitrary<String> words = Arbitraries.oneOf(unicode(30),
                Arbitraries.strings().withChars("abc .!?\n").ofMaxLength(60));
        return words.list().ofMaxSize(12).map(ps -> String.join("\n\n", ps));
    }

    private List<SourceDocument> read(Path... paths) {
        List<SourceDocument> out = new ArrayList<>();
        for (CorpusReader.Input in : reader.inputs(List.of(paths))) {
            reader.read(in, out::add);
        }
        return out;
    }

    private static String strict(byte[] b) {
        try {
            return CorpusReader.strictUtf8(b);
        } catch (java.nio.charset.CharacterCodingException e) {
            return null;
        }
    }

    private static int indexOf(byte[] b, byte v) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }

    private static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(c -> {
            if (c == '"' || c == '\\') {
                b.append('\\').appendCodePoint(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append('"').toString();
    }

    private static byte[] gzip(byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
