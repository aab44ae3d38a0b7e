package dev.longpo.cli;

import dev.longpo.common.KafkaClients;
import dev.longpo.producers.Ingestor;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code longpo ingest PATH...}: publish files, folders and JSONL as documents and chunks. Exit 2 if anything was rejected. */
@Command(name = "ingest", description = "Publish text/markdown files, folders and JSONL as document and chunk events.")
final class IngestCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "files, folders (recursive) or .jsonl files")
    List<Path> paths;

    @Override
    public Integer call() {
        try (Ingestor ingestor = new Ingestor(new KafkaClients(options.load()))) {
            Ingestor.Report r = ingestor.ingest(paths);
            System.out.printf("ingested %d documents, %d chunks, %.2f MB in %.2f s (%.1f docs/s, %.2f MB/s); rejected %d%n",
                    r.documents(), r.chunks(), r.bytes() / 1e6, r.seconds(), r.docsPerSecond(), r.megabytesPerSecond(),
                    r.rejected().size());
            return r.anyRejected() ? 2 : 0;
        }
    }
}
