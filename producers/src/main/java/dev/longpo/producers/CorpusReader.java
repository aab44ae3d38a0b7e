package dev.longpo.producers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads files, folders (recursively, in sorted order) and JSONL files (one document per line) into
 * {@link SourceDocument}s. Files are taken by content, whatever their extension: a {@code .jsonl} file
 * holds one JSON document per line, a {@code .gz} file is read decompressed (by the name under the
 * {@code .gz}), and any other file is one text document. Nothing is dropped silently: an unreadable
 * file, invalid UTF-8, an empty text, a malformed JSON line or a document over the size limit comes out
 * as a rejected document carrying its reason and raw bytes; a file a folder walk meets that is not text
 * (a NUL byte: images, archives, executables), and a hidden folder it does not enter, come out as
 * skipped, with the reason.
 */
public final class CorpusReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A path to read, and whether the user named it ({@code false}: found by walking a folder). */
    public record Input(Path path, boolean named) {
    }

    private final String textField;
    private final String idField;
    private final String titleField;
    private final long maxBytes;

    public CorpusReader(String textField, String idField, String titleField, long maxBytes) {
        this.textField = textField;
        this.idField = idField;
        this.titleField = titleField;
        this.maxBytes = maxBytes;
    }

    /**
     * Every input that {@link #read} would visit under {@code paths}, in order: the named paths, and for
     * a folder every regular file under it in sorted order, except inside hidden folders ({@code .git}),
     * which are listed themselves (to be reported as skipped) and not entered.
     */
    public List<Input> inputs(List<Path> paths) {
        List<Input> out = new ArrayList<>();
        for (Path p : paths) {
            if (!Files.isDirectory(p)) {
                out.add(new Input(p, true));
                continue;
            }
            List<Path> found = new ArrayList<>();
            try {
                Files.walkFileTree(p, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                        if (!d.equals(p) && d.getFileName().toString().startsWith(".")) {
                            found.add(d);
                            return FileVisitResult.SKIP_SUBTREE;
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                        if (attrs.isRegularFile()) {
                            found.add(f);
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path f, IOException e) {
                        found.add(f); // read() reports the failure as a rejected document
                        return FileVisitResult.CONTINUE;
                    }
                });
            } catch (IOException e) {
                found.add(p);
            }
            found.stream().sorted().forEach(f -> out.add(new Input(f, f.equals(p))));
        }
        return out;
    }

    /** Reads one input and hands each document, good, rejected or skipped, to {@code sink}. */
    public void read(Input in, Consumer<SourceDocument> sink) {
        Path file = in.path();
        String source = file.toString();
        if (!in.named() && Files.isDirectory(file)) {
            sink.accept(SourceDocument.skipped(source, "hidden folder, not entered"));
            return;
        }
        if (!Files.isRegularFile(file)) {
            sink.accept(SourceDocument.rejected(source, null, Files.exists(file) ? "not a regular file" : "no such file"));
            return;
        }
        String name = file.getFileName().toString();
        boolean gz = extension(name).equals("gz");
        String inner = gz ? name.substring(0, name.length() - 3) : name;
        boolean jsonl = extension(inner).equals("jsonl");
        byte[] raw;
        try {
            long size = Files.size(file);
            if (!gz && size > maxBytes && !jsonl) {
                sink.accept(SourceDocument.rejected(source, head(file), "document is " + size
                        + " bytes, over the limit of " + maxBytes + " (ingest.max.document.bytes)"));
                return;
            }
            raw = gz ? gunzip(file, jsonl ? Integer.MAX_VALUE - 8 : maxBytes + 1) : Files.readAllBytes(file);
        } catch (ZipException | EOFException e) {
            sink.accept(SourceDocument.rejected(source, head(file), "not a readable gzip file: " + e.getMessage()));
            return;
        } catch (IOException e) {
            sink.accept(SourceDocument.rejected(source, null, "unreadable file: " + e));
            return;
        }
        if (jsonl) {
            readJsonl(source, raw, sink);
            return;
        }
        if (gz && raw.length > maxBytes) {
            sink.accept(SourceDocument.rejected(source, head(file), "decompresses to more than " + maxBytes
                    + " bytes, the limit (ingest.max.document.bytes)"));
            return;
        }
        int nul = indexOf(raw, (byte) 0);
        if (nul >= 0) {
            String why = "not text: a NUL byte at byte " + nul + (gz ? " of the decompressed data" : "");
            sink.accept(in.named() ? SourceDocument.rejected(source, raw, why) : SourceDocument.skipped(source, why));
            return;
        }
        sink.accept(text(source, raw, null, titleOf(inner), Map.of("path", source)));
    }

    /** At most {@code limit} decompressed bytes (a decompression bomb stops there). */
    private static byte[] gunzip(Path file, long limit) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            return in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit));
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

    private void readJsonl(String file, byte[] all, Consumer<SourceDocument> sink) {
        int lineNo = 0;
        int start = 0;
        for (int i = 0; i <= all.length; i++) {
            if (i == all.length || all[i] == '\n') {
                lineNo++;
                byte[] line = java.util.Arrays.copyOfRange(all, start, i > start && all[i - 1] == '\r' ? i - 1 : i);
                start = i + 1;
                if (line.length > 0 && !isBlank(line)) {
                    sink.accept(jsonLine(file + ":" + lineNo, line));
                }
            }
        }
    }

    private SourceDocument jsonLine(String source, byte[] line) {
        String s;
        try {
            s = strictUtf8(line);
        } catch (CharacterCodingException e) {
            return SourceDocument.rejected(source, line, "invalid UTF-8 in JSON line");
        }
        JsonNode node;
        try {
            node = JSON.readTree(s);
        } catch (JsonProcessingException e) {
            return SourceDocument.rejected(source, line, "malformed JSON: " + e.getOriginalMessage());
        }
        if (!node.isObject()) {
            return SourceDocument.rejected(source, line, "JSON line is not an object");
        }
        JsonNode text = node.get(textField);
        if (text == null || !text.isTextual()) {
            return SourceDocument.rejected(source, line, "JSON line has no string field '" + textField + "'");
        }
        Map<String, String> meta = new LinkedHashMap<>();
        node.fields().forEachRemaining(e -> {
            if (!e.getKey().equals(textField) && e.getValue().isValueNode()) {
                meta.put(e.getKey(), e.getValue().asText());
            }
        });
        meta.put("path", source);
        String id = node.hasNonNull(idField) ? node.get(idField).asText() : null;
        String title = node.hasNonNull(titleField) ? node.get(titleField).asText() : null;
        byte[] textBytes = text.asText().getBytes(StandardCharsets.UTF_8);
        return text(source, textBytes, id, title, meta);
    }

    private SourceDocument text(String source, byte[] raw, String id, String title, Map<String, String> meta) {
        if (raw.length > maxBytes) {
            return SourceDocument.rejected(source, raw, "document is " + raw.length + " bytes, over the limit of "
                    + maxBytes + " (ingest.max.document.bytes)");
        }
        String text;
        try {
            text = strictUtf8(raw);
        } catch (CharacterCodingException e) {
            return SourceDocument.rejected(source, raw, "invalid UTF-8 at byte " + firstBadByte(raw));
        }
        if (text.isBlank()) {
            return SourceDocument.rejected(source, raw, "empty document");
        }
        return SourceDocument.ok(source, id, title, text, raw, meta);
    }

    static String strictUtf8(byte[] b) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
    }

    private static int firstBadByte(byte[] raw) {
        ByteBuffer in = ByteBuffer.wrap(raw);
        java.nio.charset.CoderResult r = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(in, java.nio.CharBuffer.allocate(raw.length + 1), true);
        return r.isError() ? in.position() : raw.length;
    }

    private static byte[] head(Path file) {
        try (var in = Files.newInputStream(file)) {
            return in.readNBytes(64 * 1024);
        } catch (IOException e) {
            return null;
        }
    }

    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (!Character.isWhitespace(b)) {
                return false;
            }
        }
        return true;
    }

    private static String titleOf(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    static String extension(String name) {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }
}
