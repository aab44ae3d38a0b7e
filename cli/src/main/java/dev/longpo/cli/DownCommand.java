package dev.longpo.cli;

import dev.longpo.deploy.EmbeddedStack;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code longpo down}: stop exactly the processes {@code longpo up} started. */
@Command(name = "down", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Stop the processes started by 'longpo up'.")
final class DownCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() {
        List<String> stopped = new EmbeddedStack(options.load()).down();
        System.out.println(stopped.isEmpty() ? "no stack processes were running" : "stopped " + String.join(", ", stopped));
        return 0;
    }
}
