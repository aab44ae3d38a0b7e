package dev.longpo.cli;

import dev.longpo.tasks.CorpusGenerator;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code longpo make-corpus}: write the demo corpus (long documents with embedded facts) as JSONL. */
@Command(name = "make-corpus", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Write a deterministic demo corpus of long documents with embedded facts (JSONL).")
final class MakeCorpusCommand implements Callable<Integer> {
    @Option(names = "--out", required = true)
    Path out;

    @Option(names = "--docs", defaultValue = "48")
    int docs;

    @Option(names = "--min-tokens", defaultValue = "1024")
    int minTokens;

    @Option(names = "--max-tokens", defaultValue = "4096")
    int maxTokens;

    @Option(names = "--fact-every", defaultValue = "80", description = "tokens per paragraph, each with one fact")
    int factEvery;

    @Option(names = "--id-prefix", defaultValue = "demo", description = "document ids are <prefix>-0000, ...")
    String idPrefix;

    @Option(names = "--seed", defaultValue = "7")
    long seed;

    @Override
    public Integer call() throws Exception {
        long bytes = CorpusGenerator.write(out, idPrefix, docs, minTokens, maxTokens, factEvery, seed);
        System.out.printf("wrote %s: %d documents, %.1f KB%n", out, docs, bytes / 1024.0);
        return 0;
    }
}
