package dev.longpo.cli;

import dev.longpo.common.KafkaClients;
import dev.longpo.producers.Ingestor;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code longpo ingest PATH...}: publish files, folders and JSONL (plain or gzip) as documents and chunks.
 * Exit 2 if anything was rejected (dead-lettered) or skipped (not text); each is listed with its reason.
 */
@Command(name = "ingest", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Publish text files (any extension, or .gz), folders and JSONL as document"
        + " and chunk events; files that are not text are skipped and listed.")
final class IngestCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "files, folders (recursive; hidden folders are not entered) or .jsonl files, each optionally .gz")
    List<Path> paths;

    @Override
    public Integer call() {
        try (Ingestor ingestor = new Ingestor(new KafkaClients(options.load()))) {
            Ingestor.Report r = ingestor.ingest(paths);
            r.skipped().forEach(System.out::println);
            r.rejected().forEach(System.out::println);
            System.out.printf("ingested %d documents, %d chunks, %.2f MB in %.2f s (%.1f docs/s, %.2f MB/s); rejected %d"
                            + " (to the dead-letter topic), skipped %d (not text)%n", r.documents(), r.chunks(),
                    r.bytes() / 1e6, r.seconds(), r.docsPerSecond(), r.megabytesPerSecond(), r.rejected().size(),
                    r.skipped().size());
            return r.complete() ? 0 : 2;
        }
    }
}
