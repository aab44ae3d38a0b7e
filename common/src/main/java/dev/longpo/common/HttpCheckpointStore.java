package dev.longpo.common;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints in an object store that takes {@code PUT} and {@code GET} of objects under a base URL
 * ({@code checkpoint.store.uri}: a WebDAV share, an Artifactory or Nexus raw repository, a bucket
 * behind a signing proxy, Google Cloud Storage's XML API with a bearer token), so workers on other
 * machines need no shared filesystem. A checkpoint {@code <base>/<run>/<name>/} holds the files a
 * reader needs (the optimizer's moments stay with the trainer) and, written last, a
 * {@value #MANIFEST} that lists them with their sizes and the weights' SHA-256: a checkpoint whose
 * upload broke off has no manifest and cannot be read. Readers download into
 * {@code checkpoint.cache.dir}, one folder per SHA-256, and verify the weights on every fetch, cached
 * or not. {@code checkpoint.store.authorization} is sent as the {@code Authorization} header.
 */
public final class HttpCheckpointStore implements CheckpointStore {
    private static final Logger LOG = LoggerFactory.getLogger(HttpCheckpointStore.class);
    /** The object listing a checkpoint's files; written after them. */
    public static final String MANIFEST = "longpo-checkpoint.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final URI base;
    private final Path cache;
    private final String authorization;
    private final Duration timeout;
    private final HttpClient http;

    /** What a checkpoint's manifest records. */
    public record Manifest(String sha256, Map<String, Long> files) {
    }

    /**
     * @param base          the store's base URL (the checkpoints go under it)
     * @param cache         where fetched checkpoints are kept, one folder per SHA-256
     * @param authorization the Authorization header's value, or empty for none
     * @param timeout       the longest a request may take (a whole weights file)
     */
    public HttpCheckpointStore(URI base, Path cache, String authorization, Duration timeout) {
        String b = base.toString();
        this.base = URI.create(b.endsWith("/") ? b : b + "/");
        this.cache = cache;
        this.authorization = authorization == null ? "" : authorization.trim();
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NORMAL).build();
    }

    /** The store of {@code checkpoint.*} settings that serves {@code uri}. */
    static HttpCheckpointStore fromConfig(URI uri, LongpoConfig c) {
        return new HttpCheckpointStore(uri, c.getPath("checkpoint.cache.dir"), c.get("checkpoint.store.authorization", ""),
                c.getDuration("checkpoint.store.timeout.ms"));
    }

    @Override
    public URI publish(Path dir, String run, String name) throws IOException {
        String sha = AtomicFiles.sha256(dir.resolve(WEIGHTS));
        URI target = base.resolve(segment(run) + "/" + segment(name) + "/");
        Manifest existing = manifest(target, false);
        if (existing != null && existing.sha256().equalsIgnoreCase(sha)) {
            return target;
        }
        Map<String, Long> files = new TreeMap<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path f : list.filter(Files::isRegularFile).sorted(Comparator.comparing(Path::toString)).toList()) {
                String file = f.getFileName().toString();
                if (file.startsWith("optimizer")) {
                    continue; // the trainer's own state: readers never need it
                }
                send(request(target.resolve(segment(file))).PUT(HttpRequest.BodyPublishers.ofFile(f)).build(),
                        HttpResponse.BodyHandlers.discarding(), "upload " + file + " to");
                files.put(file, Files.size(f));
            }
        }
        byte[] manifest = JSON.writeValueAsBytes(new Manifest(sha, files));
        send(request(target.resolve(MANIFEST)).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)).build(), HttpResponse.BodyHandlers.discarding(),
                "upload the manifest to");
        LOG.info("published {} ({} files) to {}", dir, files.size(), target);
        return target;
    }

    @Override
    public Path fetch(URI uri, String sha256) throws IOException {
        URI source = URI.create(uri.toString().endsWith("/") ? uri.toString() : uri + "/");
        Manifest m = manifest(source, true);
        if (sha256 != null && !m.sha256().equalsIgnoreCase(sha256)) {
            throw new CheckpointIntegrityException("checkpoint weights do not match the announced SHA-256: the manifest"
                    + " of " + source + " says " + m.sha256() + ", announced " + sha256);
        }
        Path dir = cache.resolve(m.sha256().toLowerCase(java.util.Locale.ROOT));
        if (complete(dir, m)) {
            try {
                CheckpointStore.verify(dir, m.sha256(), source);
                return dir;
            } catch (CheckpointIntegrityException e) {
                LOG.warn("cached copy {} is damaged ({}); downloading it again", dir, e.getMessage());
            }
        }
        Files.createDirectories(cache);
        Path tmp = Files.createTempDirectory(cache, ".fetch-");
        try {
            for (String file : m.files().keySet()) {
                send(request(source.resolve(segment(file))).GET().build(),
                        HttpResponse.BodyHandlers.ofFile(tmp.resolve(file)), "download " + file + " from");
            }
            if (!complete(tmp, m)) {
                throw new IOException("checkpoint " + source + ": the downloaded files differ in size from its manifest");
            }
            CheckpointStore.verify(tmp, m.sha256(), source);
            AtomicFiles.deleteTree(dir);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (java.nio.file.FileSystemException raced) { // another reader of this cache was faster
                CheckpointStore.verify(dir, m.sha256(), source);
            }
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
        return dir;
    }

    /** The manifest under {@code dir}; null when absent and not {@code required}. */
    private Manifest manifest(URI dir, boolean required) throws IOException {
        HttpResponse<byte[]> r = call(request(dir.resolve(MANIFEST)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() == 404) {
            if (required) {
                throw new IOException("no checkpoint at " + dir + ": " + MANIFEST + " is missing (an upload that did not"
                        + " finish, or a wrong checkpoint.store.uri)");
            }
            return null;
        }
        check(r, "read the manifest of");
        return JSON.readValue(r.body(), Manifest.class);
    }

    private static boolean complete(Path dir, Manifest m) throws IOException {
        for (Map.Entry<String, Long> f : m.files().entrySet()) {
            Path p = dir.resolve(f.getKey());
            if (!Files.isRegularFile(p) || Files.size(p) != f.getValue()) {
                return false;
            }
        }
        return !m.files().isEmpty();
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout);
        if (!authorization.isEmpty()) {
            b.header("Authorization", authorization);
        }
        return b;
    }

    private <T> void send(HttpRequest req, HttpResponse.BodyHandler<T> body, String what) throws IOException {
        check(call(req, body), what);
    }

    private <T> HttpResponse<T> call(HttpRequest req, HttpResponse.BodyHandler<T> body) throws IOException {
        try {
            return http.send(req, body);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + req.method() + " " + req.uri(), e);
        } catch (IOException e) {
            throw new IOException("checkpoint store unreachable: " + req.method() + " " + req.uri() + ": " + e, e);
        }
    }

    private static void check(HttpResponse<?> r, String what) throws IOException {
        int s = r.statusCode();
        if (s < 200 || s >= 300) {
            String hint = s == 401 || s == 403 ? " (check checkpoint.store.authorization)" : "";
            throw new IOException("cannot " + what + " " + r.uri() + ": HTTP " + s + hint);
        }
    }

    private static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
