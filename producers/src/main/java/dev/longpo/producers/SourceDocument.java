package dev.longpo.producers;

import java.util.Map;

/**
 * One document read from a corpus, or the reason it could not be read.
 *
 * @param source where it came from (path, or path:line for JSONL)
 * @param id configured id (JSONL id field), or null to derive one from the content
 * @param title optional title
 * @param text the text, null when rejected
 * @param raw the raw bytes, kept for the dead-letter topic when rejected
 * @param error why it was rejected or skipped, or null
 * @param skipped true for a file a folder walk met that is not corpus input (not text, a hidden folder):
 *                reported, not dead-lettered
 * @param metadata extra string fields
 */
public record SourceDocument(String source, String id, String title, String text, byte[] raw, String error,
                             boolean skipped, Map<String, String> metadata) {
    public static SourceDocument ok(String source, String id, String title, String text, byte[] raw,
                                    Map<String, String> metadata) {
        return new SourceDocument(source, id, title, text, raw, null, false, metadata);
    }

    public static SourceDocument rejected(String source, byte[] raw, String error) {
        return new SourceDocument(source, null, null, null, raw, error, false, Map.of());
    }

    public static SourceDocument skipped(String source, String why) {
        return new SourceDocument(source, null, null, null, null, why, true, Map.of());
    }

    /** Bad input: goes to the dead-letter topic with its reason. */
    public boolean isRejected() {
        return error != null && !skipped;
    }
}
