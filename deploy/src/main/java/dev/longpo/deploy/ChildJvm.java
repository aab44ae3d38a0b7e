package dev.longpo.deploy;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * A JVM started by the project (a service or a one-shot tool), detached into its own session (so it outlives the command that
 * started it and ignores the terminal's signals), with output in a log file. Each child carries a
 * {@code -Dlongpo.stack=<dir>} marker so {@link #stop} never signals an unrelated process that reused
 * a recorded PID.
 */
public final class ChildJvm {
    private ChildJvm() {
    }

    static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Starts {@code java <jvmArgs> <args>} with the stack marker; returns its PID. */
    static long start(Path stackDir, Path log, List<String> jvmArgs, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (new File("/usr/bin/setsid").canExecute()) {
            cmd.add("/usr/bin/setsid");
        }
        cmd.add(javaBinary());
        cmd.add(marker(stackDir));
        cmd.addAll(jvmArgs);
        cmd.addAll(args);
        Files.createDirectories(log.getParent());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        return p.pid();
    }

    /** Runs a JVM to completion (e.g. the storage formatter) and returns its output; fails on a non-zero exit. */
    public static String run(List<String> jvmArgs, List<String> args, Duration timeout) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(jvmArgs);
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", args));
        }
        String text = new String(out, java.nio.charset.StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException("exit " + p.exitValue() + " from " + String.join(" ", args) + ":\n" + text);
        }
        return text;
    }

    static String marker(Path stackDir) {
        return "-Dlongpo.stack=" + stackDir.toAbsolutePath();
    }

    /** The live process with this PID, if it is one of this stack's children. */
    static Optional<ProcessHandle> find(long pid, Path stackDir) {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .filter(h -> h.info().arguments().map(a -> List.of(a).contains(marker(stackDir))).orElse(false)
                        || h.info().commandLine().map(c -> c.contains(marker(stackDir))).orElse(false));
    }

    /** SIGTERM, then SIGKILL after {@code grace}. Returns true if it was running. */
    static boolean stop(long pid, Path stackDir, Duration grace) {
        Optional<ProcessHandle> h = find(pid, stackDir);
        if (h.isEmpty()) {
            return false;
        }
        h.get().destroy();
        try {
            h.get().onExit().get(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            h.get().destroyForcibly();
        }
        return true;
    }

    /** Polls {@code ready} until true, the process dies, or the timeout passes. */
    static void await(String what, long pid, Path log, Duration timeout, BooleanSupplier ready) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (ready.getAsBoolean()) {
                return;
            }
            if (ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true)) {
                throw new StackException(what + " exited during start-up; see " + log + ":\n" + tail(log, 15));
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StackException("interrupted while waiting for " + what);
            }
        }
        throw new StackException(what + " did not become ready within " + timeout.toSeconds() + " s; see " + log
                + ":\n" + tail(log, 15));
    }

    static String tail(Path log, int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }
}
