package dev.longpo.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.deploy.ChildJvm;
import dev.longpo.deploy.EmbeddedStack;
import dev.longpo.producers.Ingestor;
import java.io.BufferedWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ingestion throughput on the embedded broker, next to Kafka's own producer benchmark
 * ({@code ProducerPerformance}) on the same broker with the same record count, average record size
 * and producer settings (acks=all, idempotence, lz4, linger 5 ms).
 * Run: {@code java -cp 'bench/target/longpo-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*' dev.longpo.bench.IngestBench [docs] [docBytes]}.
 */
public final class IngestBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private IngestBench() {
    }

    public static void main(String[] args) throws Exception {
        int docs = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int docBytes = args.length > 1 ? Integer.parseInt(args[1]) : 8192;
        Path tmp = Files.createTempDirectory("longpo-bench-");
        LongpoConfig config = LongpoConfig.load().with(Map.of("stack.dir", tmp.resolve("stack").toString(),
                "stack.kafka.port", String.valueOf(freePort()), "stack.kafka.controller.port", String.valueOf(freePort()),
                "stack.registry.port", String.valueOf(freePort())));
        EmbeddedStack stack = new EmbeddedStack(config);
        stack.up();
        try {
            Path corpus = tmp.resolve("corpus.jsonl");
            long textBytes = writeCorpus(corpus, docs, docBytes, new Random(1));
            KafkaClients clients = new KafkaClients(stack.clientConfig());
            try (Ingestor warm = new Ingestor(clients)) {
                Path small = tmp.resolve("warm.jsonl");
                writeCorpus(small, 50, docBytes, new Random(2));
                warm.ingest(List.of(small));
            }
            Ingestor.Report r;
            try (Ingestor ingestor = new Ingestor(clients)) {
                r = ingestor.ingest(List.of(corpus));
            }
            long records = r.documents() + r.chunks();
            // each document's text is sent once as a Document and once more split over its chunks
            int recordSize = (int) (2 * textBytes / records);
            String perf = ChildJvm.run(List.of("-cp", System.getProperty("java.class.path")), List.of(
                    "org.apache.kafka.tools.ProducerPerformance", "--topic", "bench-perf", "--num-records",
                    String.valueOf(records), "--record-size", String.valueOf(recordSize), "--throughput", "-1",
                    "--producer-props", "bootstrap.servers=" + stack.clientConfig().get("kafka.bootstrap.servers"),
                    "acks=all", "enable.idempotence=true", "compression.type=lz4", "linger.ms=5"), Duration.ofMinutes(10));
            Matcher m = Pattern.compile("([0-9.]+) records/sec \\(([0-9.]+) MB/sec\\)").matcher(perf);
            String last = null;
            String lastMb = null;
            while (m.find()) {
                last = m.group(1);
                lastMb = m.group(2);
            }
            double ours = records / r.seconds();
            double theirs = Double.parseDouble(last);
            System.out.printf(Locale.ROOT, "corpus: %d documents x %d bytes -> %d chunks (%d records, avg %d bytes)%n",
                    r.documents(), docBytes, r.chunks(), records, recordSize);
            System.out.printf(Locale.ROOT, "longpo ingest:        %.0f docs/s, %.2f MB/s of text, %.0f records/s%n",
                    r.docsPerSecond(), r.megabytesPerSecond(), ours);
            System.out.printf(Locale.ROOT, "ProducerPerformance:  %.0f records/s (%s MB/s)%n", theirs, lastMb);
            System.out.printf(Locale.ROOT, "ratio (records/s):    %.2f%n", ours / theirs);
        } finally {
            stack.down();
        }
    }

    private static long writeCorpus(Path f, int docs, int docBytes, Random rnd) throws Exception {
        String[] words = "the harbor ledger ship captain cargo berth tide fog lamp pier clerk orchard tree frost river bridge survey station keeper storm"
                .split(" ");
        long total = 0;
        try (BufferedWriter w = Files.newBufferedWriter(f)) {
            for (int d = 0; d < docs; d++) {
                StringBuilder sb = new StringBuilder();
                while (sb.length() < docBytes) {
                    for (int s = 0; s < 5; s++) {
                        int n = 6 + rnd.nextInt(10);
                        for (int i = 0; i < n; i++) {
                            sb.append(words[rnd.nextInt(words.length)]).append(i == n - 1 ? ". " : " ");
                        }
                    }
                    sb.append("\n\n");
                }
                sb.setLength(docBytes);
                total += docBytes;
                w.write(JSON.createObjectNode().put("id", "bench-" + rnd.nextLong() + "-" + d).put("text", sb.toString())
                        + "\n");
            }
        }
        return total;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
