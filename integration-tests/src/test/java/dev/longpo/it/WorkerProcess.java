package dev.longpo.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code longpo worker} (or another command) as a child JVM of the tests, on the test classpath and pointed at a {@link RealStack}:
 * a separate process, so it can be SIGKILLed as a crashed machine would be.
 */
final class WorkerProcess {
    private static final Pattern METRICS = Pattern.compile("Prometheus metrics on http://[^:]+:(\\d+)/metrics");

    private WorkerProcess() {
    }

    /** Starts a worker of {@code role} with {@code settings} (key=value, each passed with --set); output goes to {@code log}. */
    static Process start(RealStack stack, Path model, String role, Path log, List<String> settings, String... extra)
            throws IOException {
        List<String> args = new ArrayList<>(List.of("worker", "--role", role, "--model", model.toString()));
        args.addAll(List.of(extra)); // after the settings: an extra --set wins
        return command(stack, log, settings, args);
    }

    /**
     * Starts {@code longpo <args>} against the stack, with {@code settings} (key=value) passed with --set before
     * the options of {@code args} after the command name.
     */
    static Process command(RealStack stack, Path log, List<String> settings, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), "dev.longpo.cli.Main",
                args.get(0)));
        List<String> all = new ArrayList<>(List.of("kafka.bootstrap.servers=" + stack.cluster.bootstrapServers(),
                "registry.url=http://127.0.0.1:" + stack.registryPort + "/apis/ccompat/v7"));
        all.addAll(settings);
        for (String kv : all) {
            cmd.add("--set");
            cmd.add(kv);
        }
        cmd.addAll(args.subList(1, args.size()));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
    }

    /**
     * Stops a child process: SIGTERM, up to 2 minutes for its graceful shutdown, then SIGKILL. A child that
     * outlived its test went on consuming the shared topics (a stream process of one test paired the next
     * test's instructions once in CI, because 30 s were not enough for its shutdown).
     */
    static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The log so far, or why it cannot be read (for failure messages). */
    static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /** The port of the worker's metrics endpoint (metrics.port=0), once its log has announced it. */
    static OptionalInt metricsPort(Path log) {
        Matcher m = METRICS.matcher(read(log));
        return m.find() ? OptionalInt.of(Integer.parseInt(m.group(1))) : OptionalInt.empty();
    }
}
