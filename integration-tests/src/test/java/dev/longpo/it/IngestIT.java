package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.avro.Chunk;
import dev.longpo.avro.DeadLetter;
import dev.longpo.avro.Document;
import dev.longpo.common.KafkaClients;
import dev.longpo.events.Topics;
import dev.longpo.producers.Ingestor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Ingestion against a real broker and registry: every document and chunk arrives once, bad input is dead-lettered. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class IngestIT {
    @TempDir
    Path corpus;

    @Test
    void ingestsACorpusExactlyAndDeadLettersBadInput() throws Exception {
        RealStack stack = RealStack.get();
        KafkaClients clients = new KafkaClients(stack.config().with(Map.of("ingest.max.chunk.tokens", "64",
                "ingest.max.document.bytes", "20000", "ingest.transaction.docs", "2")));
        Map<String, String> good = new TreeMap<>();
        good.put("a.txt", "Alpha paragraph one.\n\nAlpha paragraph two is a little longer than the first one.");
        good.put("sub/b.md", "# Bé\n\n" + "Ünïcödé 🙂 sentence number %d. ".repeat(1).formatted(1)
                + "x".repeat(150) + "\n\nTail.");
        good.put("sub/deeper/c.txt", String.join("\n\n", java.util.Collections.nCopies(12, "Filler text, the needle is 42.")));
        good.put("licenses/GPL-3", "Licence text without an extension.\n\nIt is read by its content.");
        for (var e : good.entrySet()) {
            Path p = corpus.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.writeString(p, e.getValue());
        }
        Files.writeString(corpus.resolve("lines.jsonl"), "{\"id\":\"jl-" + corpus.getFileName()
                + "\",\"text\":\"From JSONL.\"}\n{broken json\n");
        Files.write(corpus.resolve("bad-utf8.txt"), new byte[] {'a', (byte) 0xFF, 'b'});
        Files.writeString(corpus.resolve("empty.txt"), "   \n");
        Files.writeString(corpus.resolve("huge.txt"), "h".repeat(20001));
        String gzText = "Compressed paragraph " + corpus.getFileName() + ".";
        try (var z = new java.util.zip.GZIPOutputStream(Files.newOutputStream(corpus.resolve("notes.txt.gz")))) {
            z.write(gzText.getBytes(StandardCharsets.UTF_8));
        }
        Files.write(corpus.resolve("logo.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0});

        Ingestor.Report report;
        try (Ingestor ingestor = new Ingestor(clients)) {
            report = ingestor.ingest(List.of(corpus));
        }
        assertEquals(6, report.documents());
        assertEquals(List.of("skipped " + corpus.resolve("logo.png") + ": not text: a NUL byte at byte 4"),
                report.skipped(), "a file that is not text is listed, not dead-lettered");
        assertEquals(4, report.rejected().size(), report.rejected().toString());
        String errors = String.join("\n", report.rejected());
        assertTrue(errors.contains("bad-utf8.txt: invalid UTF-8 at byte 1"), errors);
        assertEquals(4, errors.lines().count(), "one line per rejected input");

        String prefix = corpus.toString();
        List<Document> docs = TopicReader.readAll(clients, Topics.DOCUMENTS).stream().map(ConsumerRecord::value)
                .filter(d -> d.getSource().startsWith(prefix)).toList();
        assertEquals(6, docs.size(), "each document exactly once");
        Map<String, Document> bySource = docs.stream().collect(Collectors.toMap(Document::getSource, d -> d));
        for (var e : good.entrySet()) {
            Document d = bySource.get(corpus.resolve(e.getKey()).toString());
            assertArrayEquals(e.getValue().getBytes(StandardCharsets.UTF_8), d.getText().getBytes(StandardCharsets.UTF_8));
            assertEquals(e.getValue().getBytes(StandardCharsets.UTF_8).length, d.getNumTokens());
        }
        assertEquals(gzText, bySource.get(corpus.resolve("notes.txt.gz").toString()).getText());
        assertEquals("From JSONL.", bySource.get(corpus.resolve("lines.jsonl") + ":1").getText());
        assertEquals("jl-" + corpus.getFileName(), bySource.get(corpus.resolve("lines.jsonl") + ":1").getDocId());

        Map<String, Document> byId = docs.stream().collect(Collectors.toMap(Document::getDocId, d -> d));
        List<ConsumerRecord<String, Chunk>> chunks = TopicReader.readAll(clients, Topics.CHUNKS).stream()
                .filter(r -> byId.containsKey(r.key())).toList();
        Map<String, Integer> docPartition = new HashMap<>();
        TopicReader.readAll(clients, Topics.DOCUMENTS).forEach(r -> docPartition.put(r.key(), r.partition()));
        Map<String, List<Chunk>> perDoc = chunks.stream().map(ConsumerRecord::value)
                .collect(Collectors.groupingBy(Chunk::getDocId));
        for (Document d : docs) {
            List<Chunk> cs = perDoc.get(d.getDocId());
            assertEquals(d.getNumChunks(), cs.size(), "no chunk lost or duplicated for " + d.getSource());
            assertEquals(java.util.stream.IntStream.range(0, d.getNumChunks()).boxed().toList(),
                    cs.stream().map(Chunk::getChunkIndex).sorted().toList());
            byte[] text = d.getText().getBytes(StandardCharsets.UTF_8);
            for (Chunk c : cs) {
                assertArrayEquals(Arrays.copyOfRange(text, (int) c.getStartByte(), (int) c.getEndByte()),
                        c.getText().getBytes(StandardCharsets.UTF_8));
                assertTrue(c.getNumTokens() <= 64);
                assertEquals(d.getSha256(), c.getDocSha256());
            }
        }
        chunks.forEach(r -> assertEquals(docPartition.get(r.key()), r.partition(), "chunks co-partitioned with documents"));

        List<DeadLetter> dead = TopicReader.readAll(clients, Topics.DEAD_LETTER).stream().map(ConsumerRecord::value)
                .filter(d -> d.getSource() != null && d.getSource().startsWith(prefix)).toList();
        Map<String, String> reasons = dead.stream().collect(Collectors.toMap(DeadLetter::getSource, DeadLetter::getReason));
        assertEquals(4, reasons.size());
        assertTrue(reasons.get(corpus.resolve("lines.jsonl") + ":2").startsWith("malformed JSON"));
        assertEquals("invalid UTF-8 at byte 1", reasons.get(corpus.resolve("bad-utf8.txt").toString()));
        assertEquals("empty document", reasons.get(corpus.resolve("empty.txt").toString()));
        assertTrue(reasons.get(corpus.resolve("huge.txt").toString()).contains("over the limit of 20000"));
        DeadLetter badUtf8 = dead.stream().filter(d -> d.getSource().endsWith("bad-utf8.txt")).findFirst().orElseThrow();
        assertEquals(3, badUtf8.getValue().remaining(), "raw bytes kept");
        assertEquals("ingest", badUtf8.getStage());
    }

    @Test
    void reingestingTheSameDocumentKeepsItsId() throws Exception {
        RealStack stack = RealStack.get();
        KafkaClients clients = stack.clients();
        Path f = corpus.resolve("same.txt");
        Files.writeString(f, "Stable content " + corpus.getFileName());
        for (int i = 0; i < 2; i++) {
            try (Ingestor ingestor = new Ingestor(clients)) {
                assertEquals(1, ingestor.ingest(List.of(f)).documents());
            }
        }
        List<ConsumerRecord<String, Document>> docs = TopicReader.readAll(clients, Topics.DOCUMENTS).stream()
                .filter(r -> r.value().getSource().equals(f.toString())).toList();
        assertEquals(2, docs.size());
        assertEquals(docs.get(0).key(), docs.get(1).key(), "same key, so compaction keeps one");
        assertEquals(docs.get(0).partition(), docs.get(1).partition());
    }
}
