package dev.longpo.cli;

import dev.longpo.common.LongpoConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The options of a command that makes a run on the embedded stack ({@code demo}, {@code reproduce}) and
 * how they resolve: the command's built-in profile ({@code <kind>}, plus {@code <kind>-quick} with
 * {@code --quick}), a run id ({@code <kind>-<timestamp>} unless {@code run.id} is set), pi_S, and the
 * output folder ({@code <kind>.dir/<run>} unless {@code --out}).
 */
final class RunOptions {
    @Option(names = "--quick", description = "the command's quick profile: fewer samples and evaluations")
    boolean quick;

    @Option(names = "--model", description = "the base model pi_S (default: models/pi-s)")
    Path model;

    @Option(names = "--out", description = "output folder (default: .longpo/<command>/<run>)")
    Path out;

    /** A resolved run: its configuration (run id and app prefix set), id, base model and (created) folder. */
    record Run(LongpoConfig config, String id, Path baseModel, Path dir) {
    }

    Run resolve(ConfigOptions options, String kind) throws IOException {
        LongpoConfig base = options.load(quick ? List.of(kind, kind + "-quick") : List.of(kind));
        String run = options.overrides.containsKey("run.id") ? base.get("run.id")
                : kind + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        LongpoConfig config = base.with(Map.of("run.id", run, "pipeline.app.prefix", run));
        Path pis = model != null ? model : LongpoConfig.home().resolve("models/pi-s");
        Path dir = (out != null ? out : config.getPath(kind + ".dir").resolve(run)).toAbsolutePath();
        Files.createDirectories(dir);
        return new Run(config, run, pis, dir);
    }
}
