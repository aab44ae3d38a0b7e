package dev.longpo.producers;

import dev.longpo.avro.Chunk;
import dev.longpo.avro.DeadLetter;
import dev.longpo.avro.Document;
import dev.longpo.common.DeadLetters;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.common.Progress;
import dev.longpo.events.Topics;
import dev.longpo.text.Tokenizer;
import dev.longpo.text.TokenizerFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import me.tongfei.progressbar.ProgressBar;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a corpus as {@link Document} and {@link Chunk} events (key = doc_id), in Kafka
 * transactions of {@code ingest.transaction.docs} documents so a document never appears without its
 * chunks to read_committed consumers. Rejected input goes to {@code dead-letter} with its reason and
 * ingestion goes on; a file a folder walk meets that is not text is skipped and listed. The doc_id is the configured id field (JSONL) or derived from the content hash,
 * so re-ingesting the same document overwrites itself on the compacted {@code documents} topic.
 */
public final class Ingestor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Ingestor.class);
    /** What one ingestion run did. */
    public record Report(long documents, long chunks, long bytes, List<String> rejected, List<String> skipped,
                         double docsPerSecond, double megabytesPerSecond, double seconds) {
        public boolean anyRejected() {
            return !rejected.isEmpty();
        }

        /** True when every input was ingested: nothing rejected, nothing skipped. */
        public boolean complete() {
            return rejected.isEmpty() && skipped.isEmpty();
        }
    }

    private final KafkaProducer<String, SpecificRecord> producer;
    private final CorpusReader reader;
    private final Chunker chunker;
    private final Tokenizer tokenizer;
    private final int docsPerTransaction;

    public Ingestor(KafkaClients clients) {
        LongpoConfig c = clients.config();
        this.tokenizer = TokenizerFactory.forName(c.get("tokenizer"));
        this.reader = new CorpusReader(c.get("ingest.jsonl.text.field"), c.get("ingest.jsonl.id.field"), c.get("ingest.jsonl.title.field"),
                c.getLong("ingest.max.document.bytes"));
        this.chunker = new Chunker(tokenizer, c.getInt("ingest.max.chunk.tokens"));
        this.docsPerTransaction = c.getInt("ingest.transaction.docs");
        this.producer = clients.producer("longpo-ingest", "longpo-ingest-" + UUID.randomUUID());
        this.producer.initTransactions();
    }

    /** Ingests every document under {@code paths}. */
    public Report ingest(List<Path> paths) {
        List<CorpusReader.Input> files = reader.inputs(paths);
        List<String> rejected = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        long[] counts = new long[3]; // documents, chunks, bytes
        int[] inTxn = {0};
        long t0 = System.nanoTime();
        producer.beginTransaction();
        try (ProgressBar progress = Progress.bar("files", files.size())) {
            for (CorpusReader.Input f : files) {
                reader.read(f, doc -> {
                    if (doc.skipped()) {
                        String line = "skipped " + doc.source() + ": " + doc.error();
                        LOG.warn(line);
                        skipped.add(line);
                        return;
                    }
                    if (doc.isRejected()) {
                        reject(doc, rejected);
                    } else {
                        counts[1] += publish(doc);
                        counts[0]++;
                        counts[2] += doc.raw().length;
                    }
                    if (++inTxn[0] >= docsPerTransaction) {
                        producer.commitTransaction();
                        producer.beginTransaction();
                        inTxn[0] = 0;
                    }
                });
                progress.step();
            }
            producer.commitTransaction();
        } catch (KafkaException e) {
            abortQuietly();
            throw new IllegalStateException("ingestion stopped, the open transaction was aborted: " + e.getMessage(), e);
        }
        double secs = Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
        return new Report(counts[0], counts[1], counts[2], rejected, skipped, counts[0] / secs, counts[2] / 1e6 / secs, secs);
    }

    private long publish(SourceDocument src) {
        String text = src.text();
        String sha = sha256(text.getBytes(StandardCharsets.UTF_8));
        String docId = src.id() != null ? src.id() : "d-" + sha.substring(0, 24);
        List<Chunker.Piece> pieces = chunker.chunk(text);
        Document doc = Document.newBuilder().setDocId(docId).setSource(src.source()).setTitle(src.title())
                .setText(text).setSha256(sha).setNumBytes(src.raw().length).setNumTokens(tokenizer.count(text))
                .setTokenizer(tokenizer.id()).setNumChunks(pieces.size()).setMetadata(src.metadata())
                .setIngestedAt(Instant.now()).build();
        producer.send(new ProducerRecord<>(Topics.DOCUMENTS.name(), docId, doc));
        for (int i = 0; i < pieces.size(); i++) {
            Chunker.Piece p = pieces.get(i);
            Chunk chunk = Chunk.newBuilder().setDocId(docId).setChunkIndex(i).setNumChunks(pieces.size())
                    .setStartByte(p.startByte()).setEndByte(p.endByte()).setNumTokens(p.tokens()).setText(p.text())
                    .setDocSha256(sha).build();
            producer.send(new ProducerRecord<>(Topics.CHUNKS.name(), docId, chunk));
        }
        return pieces.size();
    }

    private void reject(SourceDocument doc, List<String> rejected) {
        String line = "rejected " + doc.source() + ": " + doc.error();
        LOG.warn(line);
        rejected.add(line);
        DeadLetter dl = DeadLetters.of("ingest", doc.error(), null).fromSource(doc.source(), doc.raw()).build();
        DeadLetters.send(producer, dl);
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void abortQuietly() {
        try {
            producer.abortTransaction();
        } catch (KafkaException ignored) {
            // the producer is fenced or closed; nothing was committed
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
