package dev.longpo.cli;

import dev.longpo.deploy.EmbeddedStack;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code longpo status}: whether the recorded stack processes are alive. Exit 0 only when all are. */
@Command(name = "status", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Show the embedded stack's processes.")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() {
        EmbeddedStack stack = new EmbeddedStack(options.load());
        EmbeddedStack.Status s = stack.status();
        if (s.recorded() == null) {
            System.out.println("stack: not running (no state in " + stack.dir() + ")");
            return 3;
        }
        int n = s.recorded().kafkaPids().size();
        for (int i = 0; i < n; i++) {
            System.out.printf("%-9s pid %-8d 127.0.0.1:%-6d %s%n", n == 1 ? "kafka" : "kafka " + (i + 1),
                    s.recorded().kafkaPids().get(i), s.recorded().kafkaPorts().get(i),
                    s.brokersAlive().get(i) ? "running" : "NOT RUNNING");
        }
        System.out.printf("registry  pid %-8d 127.0.0.1:%-6d %s%n", s.recorded().registryPid(),
                s.recorded().registryPort(), s.registryAlive() ? (s.registryReady() ? "running, ready" : "running, not ready")
                        : "NOT RUNNING");
        return s.running() ? 0 : 3;
    }
}
