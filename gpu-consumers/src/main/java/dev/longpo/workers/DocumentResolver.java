package dev.longpo.workers;

import dev.longpo.avro.Document;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.TopicScanner;
import dev.longpo.events.Topics;
import dev.longpo.text.Truncation;
import dev.longpo.text.TokenizerFactory;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Resolves {@code kafka://documents/<doc_id>?sha256=..&tokens=..} references (long contexts too large
 * to copy into a request) by reading the compacted documents topic; the text is checked against the
 * SHA-256 and cut to the token count. Recently used documents are cached.
 */
public final class DocumentResolver {
    private final KafkaClients clients;
    private final Map<String, Document> cache = new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Document> e) {
            return size() > 64;
        }
    };

    public DocumentResolver(KafkaClients clients) {
        this.clients = clients;
    }

    public String resolve(String ref) {
        URI uri = URI.create(ref);
        String docId = uri.getPath().substring(1);
        Map<String, String> q = new HashMap<>();
        for (String kv : uri.getQuery().split("&")) {
            String[] p = kv.split("=", 2);
            q.put(p[0], p[1]);
        }
        Document d = cache.get(docId + "@" + q.get("sha256"));
        if (d == null) {
            var serde = clients.serde(Topics.DOCUMENTS);
            Document[] found = new Document[1];
            TopicScanner.scan(clients, Topics.DOCUMENTS.name(), Duration.ofMinutes(2), r -> {
                Document doc = serde.deserialize(r.topic(), r.value());
                if (doc != null && doc.getDocId().equals(docId) && doc.getSha256().equals(q.get("sha256"))) {
                    found[0] = doc;
                }
            });
            if (found[0] == null) {
                throw new IllegalStateException("document " + docId + " with sha256 " + q.get("sha256") + " not found");
            }
            d = found[0];
            cache.put(docId + "@" + q.get("sha256"), d);
        }
        return Truncation.prefix(d.getText(), TokenizerFactory.forName(d.getTokenizer()), Integer.parseInt(q.get("tokens")));
    }
}
