package dev.longpo.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.deploy.RoleAccess;
import dev.longpo.files.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The container image tarball as a runtime would take it: its manifest, config (entrypoint, environment,
 * user, port) and layers (each layer's digest against the config's diff id; the Java runtime, the C
 * library, the application's jars and the committed pi_S in them), then the image itself, unpacked and
 * run with no file from this machine: its entrypoint in a chroot of the layers (a user namespace, as
 * rootless containers run) answers {@code --version}, scores a response with pi_S on PyTorch and parses
 * the arguments every generated manifest passes it.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ImageIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path image;
    private static JsonNode config;
    private static final List<String> layers = new ArrayList<>();
    private static final Map<String, byte[]> blobs = new HashMap<>();

    @TempDir
    static Path dir;

    @BeforeAll
    static void read() throws IOException {
        image = Path.of(System.getProperty("longpo.image.tar", "target/longpo-image.tar"));
        assertTrue(Files.isRegularFile(image), "the image tarball " + image + " (built in the package phase)");
        try (TarArchiveInputStream tar = new TarArchiveInputStream(Files.newInputStream(image))) {
            for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                blobs.put(e.getName(), tar.readAllBytes());
            }
        }
        JsonNode manifest = JSON.readTree(blobs.get("manifest.json")).get(0);
        manifest.path("Layers").forEach(l -> layers.add(l.asText()));
        config = JSON.readTree(blobs.get(manifest.path("Config").asText()));
    }

    @Test
    void theConfigRunsTheCommandLineAsAnUnprivilegedUser() {
        JsonNode c = config.path("config");
        List<String> entrypoint = strings(c.path("Entrypoint"));
        assertEquals("java", entrypoint.get(0));
        assertEquals("dev.longpo.cli.Main", entrypoint.get(entrypoint.size() - 1));
        assertTrue(entrypoint.contains("-Dai.djl.offline=true") && entrypoint.contains("-XX:+ExitOnOutOfMemoryError"),
                entrypoint.toString());
        assertTrue(c.path("Cmd").isMissingNode() || c.path("Cmd").isNull() || c.path("Cmd").isEmpty(),
                "the manifests' args are the whole command line after the entrypoint");
        List<String> env = strings(c.path("Env"));
        assertTrue(env.contains("PATH=/opt/java/bin:/usr/bin:/bin"), env.toString());
        assertTrue(env.contains("DJL_CACHE_DIR=/tmp/djl"), env.toString());
        assertEquals("1000:1000", c.path("User").asText());
        assertTrue(c.path("ExposedPorts").has("9404/tcp"), "the metrics port of the manifests");
        assertEquals("amd64", config.path("architecture").asText());
        assertEquals("linux", config.path("os").asText());
    }

    @Test
    void everyLayerMatchesItsDiffIdAndTheImageHoldsWhatItRuns() throws Exception {
        List<String> diffIds = strings(config.path("rootfs").path("diff_ids"));
        assertEquals(layers.size(), diffIds.size());
        Set<String> files = new TreeSet<>();
        Map<String, String> sha = new HashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            byte[] tar = gunzip(blobs.get(layers.get(i)));
            assertEquals(diffIds.get(i), "sha256:" + hex(MessageDigest.getInstance("SHA-256").digest(tar)), layers.get(i));
            try (TarArchiveInputStream in = new TarArchiveInputStream(new java.io.ByteArrayInputStream(tar))) {
                for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                    String name = e.getName().replaceFirst("^\\./", "").replaceFirst("^/", "");
                    files.add(name);
                    if (name.equals("models/pi-s/model.safetensors")) {
                        sha.put(name, hex(MessageDigest.getInstance("SHA-256").digest(in.readAllBytes())));
                    }
                }
            }
        }
        for (String f : List.of("opt/java/bin/java", "opt/java/lib/server/libjvm.so", "usr/lib64/ld-linux-x86-64.so.2",
                "usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libstdc++.so.6", "etc/passwd",
                "app/jib-classpath-file", "app/libs/longpo-cli-0.1.0-SNAPSHOT.jar",
                "app/libs/pytorch-native-cpu-2.7.1-linux-x86_64.jar", "models/pi-s/config.json")) {
            assertTrue(files.contains(f), f + " is in the image");
        }
        Path committed = Path.of(System.getProperty("longpo.models", "../models")).resolve("pi-s/model.safetensors");
        assertEquals(AtomicFiles.sha256(committed), sha.get("models/pi-s/model.safetensors"), "the committed pi_S");
        assertFalse(files.stream().anyMatch(f -> f.startsWith("app/libs/junit")), "no test libraries");
    }

    @Test
    void theUnpackedImageRunsItsEntrypoint() throws Exception {
        assumeTrue(run(List.of("unshare", "-r", "true"), Path.of(".")).code() == 0,
                "user namespaces are off here: the image is checked without running it");
        Path root = dir.resolve("rootfs");
        Files.createDirectories(root);
        for (String layer : layers) {
            Path l = dir.resolve("layer.tar.gz");
            Files.write(l, blobs.get(layer));
            Result r = run(List.of("tar", "-xzf", l.toString(), "-C", root.toString()), dir);
            assertEquals(0, r.code(), r.output());
        }
        List<String> entrypoint = strings(config.path("config").path("Entrypoint"));

        Result version = inImage(root, entrypoint, List.of("--version"));
        assertEquals(0, version.code(), version.output());
        assertTrue(version.output().contains("LongPO Stream"), version.output());

        Result score = inImage(root, entrypoint, List.of("score", "--model", "/models/pi-s", "--context",
                "The key of the harbor is 41.", "--prompt", "What is the key of the harbor?", "--response", "The key is 41."));
        assertEquals(0, score.code(), score.output());
        String json = score.output().substring(score.output().indexOf('{'));
        JsonNode tokens = JSON.readTree(json).path("tokens");
        assertTrue(tokens.size() > 5, json);
        tokens.forEach(t -> assertTrue(Double.isFinite(t.path("logprob").asDouble()) && t.path("logprob").asDouble() <= 0, json));

        for (RoleAccess r : RoleAccess.all("longpo", "longpo")) { // the manifests' args reach the right command
            List<String> args = new ArrayList<>(r.args());
            args.add("--help");
            Result help = inImage(root, entrypoint, args);
            assertEquals(0, help.code(), r.name() + ": " + help.output());
            assertTrue(help.output().contains("Usage: longpo " + r.args().get(0)), help.output());
        }
    }

    /** The entrypoint with {@code args} in a chroot of the unpacked layers, with only the image's environment. */
    private static Result inImage(Path root, List<String> entrypoint, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("env", "-i"));
        cmd.addAll(strings(config.path("config").path("Env")));
        cmd.addAll(List.of(which("unshare"), "-r", "-m", "-p", "-f", "--mount-proc=" + root.resolve("proc"),
                which("chroot"), root.toString()));
        cmd.addAll(entrypoint);
        cmd.addAll(args);
        return run(cmd, dir);
    }

    private record Result(int code, String output) {
    }

    private static Result run(List<String> cmd, Path cwd) throws Exception {
        List<String> resolved = new ArrayList<>(cmd);
        resolved.set(0, which(cmd.get(0)));
        Process p = new ProcessBuilder(resolved).directory(cwd.toFile()).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "finished: " + cmd);
        return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8));
    }

    /** A host tool by absolute path (env -i clears PATH for what follows, not for this lookup). */
    private static String which(String tool) {
        for (String d : List.of("/usr/bin", "/usr/sbin", "/bin", "/sbin")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return d + "/" + tool;
            }
        }
        return tool;
    }

    private static byte[] gunzip(byte[] gz) throws IOException {
        try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        }
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
