package dev.longpo.streams;

import dev.longpo.avro.Chunk;
import dev.longpo.avro.Document;
import dev.longpo.avro.Instruction;
import dev.longpo.avro.PreferencePair;

/** Semantic checks of decoded events: a record that decodes but cannot be used goes to dead-letter. */
final class Validation {
    private Validation() {
    }

    static String document(String key, Document d) {
        if (!key.equals(d.getDocId())) {
            return "key '" + key + "' differs from doc_id '" + d.getDocId() + "'";
        }
        if (d.getText() == null && d.getTextRef() == null) {
            return "document has neither text nor text_ref";
        }
        return d.getNumChunks() < 0 ? "negative num_chunks" : null;
    }

    static String chunk(String key, Chunk c) {
        if (!key.equals(c.getDocId())) {
            return "key '" + key + "' differs from doc_id '" + c.getDocId() + "'";
        }
        return c.getChunkIndex() < 0 || c.getChunkIndex() >= c.getNumChunks() ? "chunk_index out of range" : null;
    }

    static String instruction(String key, Instruction i) {
        if (!key.equals(i.getDocId())) {
            return "key '" + key + "' differs from doc_id '" + i.getDocId() + "'";
        }
        return i.getInstruction().isBlank() ? "empty instruction" : null;
    }

    static String pair(String key, PreferencePair p) {
        if (!key.equals(p.getDocId())) {
            return "key '" + key + "' differs from doc_id '" + p.getDocId() + "'";
        }
        if (p.getChosenTokenIds() == null || p.getRejectedTokenIds() == null) {
            return "missing token ids";
        }
        return Double.isNaN(p.getRefChosenLogp()) || Double.isNaN(p.getRefRejectedLogp()) ? "reference log-prob is NaN"
                : null;
    }
}
