package dev.longpo.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code longpo config}: print the effective configuration after all layers. */
@Command(name = "config", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, description = "Print the effective configuration.")
final class ConfigCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() {
        options.load().asMap().forEach((k, v) -> System.out.println(k + "=" + (k.contains("password") || k.contains("jaas") || k.contains("authorization")
                || k.contains("user.info") ? "****" : v)));
        return 0;
    }
}
