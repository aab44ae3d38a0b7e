package dev.longpo.cli;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.deploy.EmbeddedStack;
import dev.longpo.events.Topics;
import dev.longpo.producers.Ingestor;
import dev.longpo.common.TopicScanner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code longpo demo}: the README's main job. Starts the embedded stack (unless one is running),
 * ingests the bundled corpus, and prints what landed on each topic.
 */
@Command(name = "demo", description = "Start the embedded stack, ingest the sample corpus and report the topics.")
final class DemoCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--corpus", description = "corpus to ingest (default: examples/corpus)")
    Path corpus;

    @Option(names = "--keep", description = "leave the stack running afterwards")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        LongpoConfig config = options.load();
        EmbeddedStack stack = new EmbeddedStack(config);
        boolean started = false;
        if (!stack.status().running()) {
            System.out.println("starting the embedded stack (Kafka KRaft broker + Apicurio registry) ...");
            stack.up();
            started = true;
        }
        try {
            KafkaClients clients = new KafkaClients(stack.clientConfig());
            Path in = corpus != null ? corpus : LongpoConfig.home().resolve("examples/corpus");
            Ingestor.Report r;
            try (Ingestor ingestor = new Ingestor(clients, System.err)) {
                r = ingestor.ingest(List.of(in));
            }
            System.out.printf("ingested %d documents into %d chunks (%.1f docs/s); %d rejected%n", r.documents(),
                    r.chunks(), r.docsPerSecond(), r.rejected().size());
            System.out.println("committed records per topic:");
            counts(clients).forEach((t, n) -> System.out.printf("  %-22s %8d%n", t, n));
        } finally {
            if (started && !keep) {
                stack.down();
                System.out.println("stack stopped (use --keep to leave it running)");
            }
        }
        return 0;
    }

    static Map<String, Long> counts(KafkaClients clients) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (var t : Topics.all()) {
            out.put(t.name(), TopicScanner.scan(clients, t.name(), Duration.ofSeconds(60), r -> { }));
        }
        return out;
    }
}
