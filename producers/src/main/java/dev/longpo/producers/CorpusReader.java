package dev.longpo.producers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Reads text and markdown files, folders (recursively, in sorted order) and JSONL files (one document
 * per line) into {@link SourceDocument}s. Nothing is dropped silently: an unreadable file, invalid UTF-8,
 * an empty text, a malformed JSON line or a document over the size limit comes out as a rejected
 * document carrying its reason and raw bytes.
 */
public final class CorpusReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Set<String> extensions;
    private final String textField;
    private final String idField;
    private final String titleField;
    private final long maxBytes;

    public CorpusReader(Set<String> extensions, String textField, String idField, String titleField, long maxBytes) {
        this.extensions = extensions;
        this.textField = textField;
        this.idField = idField;
        this.titleField = titleField;
        this.maxBytes = maxBytes;
    }

    /** Every file that {@link #read} would visit under {@code paths}, in order. */
    public List<Path> files(List<Path> paths) {
        List<Path> out = new ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> walk = Files.walk(p)) {
                    walk.filter(Files::isRegularFile).filter(f -> extensions.contains(extension(f))).sorted()
                            .forEach(out::add);
                } catch (IOException e) {
                    out.add(p); // read() reports the failure as a rejected document
                }
            } else {
                out.add(p);
            }
        }
        return out;
    }

    /** Reads one file (text or JSONL) and hands each document, good or rejected, to {@code sink}. */
    public void read(Path file, Consumer<SourceDocument> sink) {
        String source = file.toString();
        if (!Files.isRegularFile(file)) {
            sink.accept(SourceDocument.rejected(source, null, Files.exists(file) ? "not a regular file" : "no such file"));
            return;
        }
        if (extension(file).equals("jsonl")) {
            readJsonl(file, sink);
            return;
        }
        byte[] raw;
        try {
            long size = Files.size(file);
            if (size > maxBytes) {
                sink.accept(SourceDocument.rejected(source, head(file), "document is " + size
                        + " bytes, over the limit of " + maxBytes + " (ingest.max.document.bytes)"));
                return;
            }
            raw = Files.readAllBytes(file);
        } catch (IOException e) {
            sink.accept(SourceDocument.rejected(source, null, "unreadable file: " + e));
            return;
        }
        sink.accept(text(source, raw, null, titleOf(file), Map.of("path", source)));
    }

    private void readJsonl(Path file, Consumer<SourceDocument> sink) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            sink.accept(SourceDocument.rejected(file.toString(), null, "unreadable file: " + e));
            return;
        }
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

    private static String titleOf(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    static String extension(Path f) {
        String name = f.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }
}
