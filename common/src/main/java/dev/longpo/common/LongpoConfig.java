package dev.longpo.common;

import dev.longpo.schema.RegistrySettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The one configuration mechanism of every module and command. Keys are dotted names
 * ({@code kafka.bootstrap.servers}, {@code ingest.max.chunk.tokens}). Layers, later wins:
 * <ol>
 *   <li>built-in defaults ({@code longpo-defaults.properties} on the classpath);</li>
 *   <li>built-in profiles a command asks for ({@code longpo-demo.properties}, ...);</li>
 *   <li>a properties file: {@code --config FILE}, else {@code $LONGPO_CONFIG}, else {@code ./longpo.properties} if present;</li>
 *   <li>environment variables {@code LONGPO_X_Y} for key {@code x.y};</li>
 *   <li>system properties {@code -Dlongpo.x.y=...};</li>
 *   <li>explicit overrides ({@code --set x.y=...} on the command line, or code in tests).</li>
 * </ol>
 * Every key under {@code kafka.} is passed to all Kafka clients without the prefix, which is how
 * SASL/TLS settings for a real cluster are given. {@code ${longpo.home}} in values expands to the
 * project folder.
 */
public final class LongpoConfig {
    private static final String DEFAULTS = "/longpo-defaults.properties";
    private final Map<String, String> values;

    private LongpoConfig(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    }

    /** Defaults, the usual file, environment and system properties; no overrides. */
    public static LongpoConfig load() {
        return load(null, Map.of());
    }

    /** All layers; {@code file} may be null (then {@code $LONGPO_CONFIG} or {@code ./longpo.properties}). */
    public static LongpoConfig load(Path file, Map<String, String> overrides) {
        return load(file, List.of(), overrides);
    }

    /**
     * All layers, with built-in profiles ({@code /longpo-<name>.properties} on the classpath, e.g. the
     * demo's) applied in order over the defaults and under everything the user sets.
     */
    public static LongpoConfig load(Path file, List<String> profiles, Map<String, String> overrides) {
        Map<String, String> v = new HashMap<>();
        readResource(v, DEFAULTS);
        for (String profile : profiles) {
            readResource(v, "/longpo-" + profile + ".properties");
        }
        Path f = file;
        if (f == null && System.getenv("LONGPO_CONFIG") != null) {
            f = Path.of(System.getenv("LONGPO_CONFIG"));
        }
        if (f == null && Files.isRegularFile(Path.of("longpo.properties"))) {
            f = Path.of("longpo.properties");
        }
        if (f != null) {
            readFile(v, f);
        }
        System.getenv().forEach((k, val) -> {
            if (k.startsWith("LONGPO_") && !k.equals("LONGPO_CONFIG") && !k.equals("LONGPO_HOME")) {
                v.put(k.substring(7).toLowerCase(Locale.ROOT).replace('_', '.'), val);
            }
        });
        System.getProperties().stringPropertyNames().forEach(k -> {
            if (k.startsWith("longpo.") && !k.equals("longpo.home")) {
                v.put(k.substring(7), System.getProperty(k));
            }
        });
        v.putAll(overrides);
        String home = home().toString();
        v.replaceAll((k, val) -> val == null ? null : val.replace("${longpo.home}", home));
        return new LongpoConfig(v);
    }

    private static void readResource(Map<String, String> v, String name) {
        try (InputStream in = LongpoConfig.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing " + name + " on the classpath");
            }
            putAll(v, in);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + name, e);
        }
    }

    private static void putAll(Map<String, String> v, InputStream in) throws IOException {
        Properties p = new Properties();
        p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
        p.stringPropertyNames().forEach(k -> v.put(k, p.getProperty(k)));
    }

    /** The project folder: {@code -Dlongpo.home}, {@code $LONGPO_HOME}, else the working directory. */
    public static Path home() {
        String h = System.getProperty("longpo.home", System.getenv("LONGPO_HOME"));
        return Path.of(h == null ? "." : h).toAbsolutePath().normalize();
    }

    /** A copy with some keys replaced. */
    public LongpoConfig with(Map<String, String> overrides) {
        Map<String, String> v = new HashMap<>(values);
        v.putAll(overrides);
        return new LongpoConfig(v);
    }

    /** A copy with the keys of the properties file {@code file} over these (e.g. a role's credentials). */
    public LongpoConfig withFile(Path file) {
        Map<String, String> v = new HashMap<>();
        readFile(v, file);
        return with(v);
    }

    private static void readFile(Map<String, String> v, Path file) {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            Properties p = new Properties();
            p.load(r);
            p.stringPropertyNames().forEach(k -> v.put(k, p.getProperty(k)));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read config file " + file + ": " + e.getMessage(), e);
        }
    }

    /** A copy with one key replaced. */
    public LongpoConfig with(String key, Object value) {
        return with(Map.of(key, String.valueOf(value)));
    }

    public String get(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing configuration key '" + key + "'");
        }
        return v;
    }

    public String get(String key, String fallback) {
        String v = values.get(key);
        return v == null || v.isBlank() ? fallback : v;
    }

    public int getInt(String key) {
        return parse(key, Integer::parseInt);
    }

    /** An int, or {@code fallback} when the key is absent. */
    public int getInt(String key, int fallback) {
        return values.get(key) == null ? fallback : getInt(key);
    }

    public long getLong(String key) {
        return parse(key, Long::parseLong);
    }

    public double getDouble(String key) {
        return parse(key, Double::parseDouble);
    }

    public boolean getBoolean(String key) {
        String v = get(key).trim();
        if (!v.equalsIgnoreCase("true") && !v.equalsIgnoreCase("false")) {
            throw new IllegalArgumentException("configuration key '" + key + "' must be true or false, not '" + v + "'");
        }
        return Boolean.parseBoolean(v);
    }

    public Duration getDuration(String key) {
        return Duration.ofMillis(getLong(key));
    }

    public Path getPath(String key) {
        return Path.of(get(key)).toAbsolutePath().normalize();
    }

    private <T> T parse(String key, java.util.function.Function<String, T> f) {
        String v = get(key).trim();
        try {
            return f.apply(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("configuration key '" + key + "' is not a number: '" + v + "'");
        }
    }

    /** Keys under {@code prefix}, with the prefix removed. */
    public Map<String, String> withPrefix(String prefix) {
        Map<String, String> out = new TreeMap<>();
        values.forEach((k, v) -> {
            if (k.startsWith(prefix) && v != null && !v.isBlank()) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    /** Every key and value, sorted; for {@code longpo config}. */
    public Map<String, String> asMap() {
        return values;
    }

    /** Registry connection settings from the {@code registry.*} keys. */
    public RegistrySettings registrySettings() {
        String trust = get("registry.ssl.truststore.location", null);
        return new RegistrySettings(URI.create(get("registry.url")), get("registry.basic.auth.user.info", null),
                trust == null ? null : Path.of(trust), get("registry.ssl.truststore.password", null),
                getDuration("registry.timeout.ms"), getBoolean("registry.auto.register"));
    }
}
