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
        System.out.printf("kafka     pid %-8d 127.0.0.1:%-6d %s%n", s.recorded().kafkaPid(), s.recorded().kafkaPort(),
                s.kafkaAlive() ? "running" : "NOT RUNNING");
        System.out.printf("registry  pid %-8d 127.0.0.1:%-6d %s%n", s.recorded().registryPid(),
                s.recorded().registryPort(), s.registryAlive() ? (s.registryReady() ? "running, ready" : "running, not ready")
                        : "NOT RUNNING");
        return s.running() ? 0 : 3;
    }
}
