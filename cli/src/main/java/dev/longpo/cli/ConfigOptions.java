package dev.longpo.cli;

import dev.longpo.common.LongpoConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** The configuration options every command takes: a file and key=value overrides. */
public final class ConfigOptions {
    @Option(names = "--config", paramLabel = "FILE", description = "properties file (default: $LONGPO_CONFIG or ./longpo.properties)")
    Path file;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override one configuration key (repeatable)")
    Map<String, String> overrides = new LinkedHashMap<>();

    public LongpoConfig load() {
        return LongpoConfig.load(file, overrides);
    }

    /** With built-in profiles between the defaults and everything the user sets. */
    public LongpoConfig load(List<String> profiles) {
        return LongpoConfig.load(file, profiles, overrides);
    }
}
