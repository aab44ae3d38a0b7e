package dev.longpo.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both checkpoint stores: the in-place {@code file:} store, and the HTTP object store against a real HTTP
 * server ({@link ObjectStoreServer}).
 */
class CheckpointStoreTest {
    private static final String TOKEN = "Bearer test-token";
    @TempDir
    Path tmp;
    private ObjectStoreServer server;
    private Map<String, byte[]> objects;
    private List<String> requests;
    private URI base;

    @BeforeEach
    void objectStore() throws IOException {
        server = new ObjectStoreServer(TOKEN);
        objects = server.objects();
        requests = server.requests();
        base = server.base("bucket/checkpoints");
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Path checkpoint(String name, String weights) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("model.safetensors"), weights);
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 8}");
        Files.writeString(dir.resolve("optimizer.safetensors"), "moments the readers never need");
        return dir;
    }

    private HttpCheckpointStore store(String authorization) {
        return new HttpCheckpointStore(base, tmp.resolve("cache"), authorization, Duration.ofSeconds(30));
    }

    @Test
    void aPublishedCheckpointIsFetchedVerifiedAndCachedWithoutTheOptimizerState() throws Exception {
        Path dir = checkpoint("step-00000020", "weights of step 20");
        String sha = AtomicFiles.sha256(dir.resolve("model.safetensors"));
        HttpCheckpointStore store = store(TOKEN);
        URI uri = store.publish(dir, "run a", "step-00000020");
        assertEquals(base + "/run%20a/step-00000020/", uri.toString());
        List<String> puts = requests.stream().filter(r -> r.startsWith("PUT")).toList();
        assertEquals(List.of("PUT /bucket/checkpoints/run%20a/step-00000020/config.json",
                "PUT /bucket/checkpoints/run%20a/step-00000020/model.safetensors",
                "PUT /bucket/checkpoints/run%20a/step-00000020/" + HttpCheckpointStore.MANIFEST), puts,
                "the files, then the manifest; never the optimizer's moments");

        Path got = store.fetch(uri, sha);
        assertEquals(tmp.resolve("cache").resolve(sha), got);
        assertArrayEquals(Files.readAllBytes(dir.resolve("model.safetensors")), Files.readAllBytes(got.resolve("model.safetensors")));
        assertEquals("{\"hidden_size\": 8}", Files.readString(got.resolve("config.json")));
        assertFalse(Files.exists(got.resolve("optimizer.safetensors")));

        requests.clear();
        assertEquals(got, store.fetch(uri, sha));
        assertEquals(List.of("GET /bucket/checkpoints/run%20a/step-00000020/" + HttpCheckpointStore.MANIFEST), requests,
                "a cached checkpoint is verified, not downloaded again");
        requests.clear();
        assertEquals(uri, store.publish(dir, "run a", "step-00000020"));
        assertTrue(requests.stream().noneMatch(r -> r.startsWith("PUT")), "publishing the same weights again uploads nothing");
    }

    @Test
    void weightsOtherThanTheAnnouncedOnesAreNeverReturned() throws Exception {
        Path dir = checkpoint("step-1", "the announced weights");
        String sha = AtomicFiles.sha256(dir.resolve("model.safetensors"));
        HttpCheckpointStore store = store(TOKEN);
        URI uri = store.publish(dir, "r", "step-1");

        IOException wrongAnnouncement = assertThrows(IOException.class, () -> store.fetch(uri, "0".repeat(64)));
        assertInstanceOf(CheckpointStore.CheckpointIntegrityException.class, wrongAnnouncement);
        assertTrue(wrongAnnouncement.getMessage().contains("SHA-256"), wrongAnnouncement.getMessage());

        Path cached = store.fetch(uri, sha);
        Files.writeString(cached.resolve("model.safetensors"), "the announced weightz"); // same size, damaged
        assertEquals("the announced weights", Files.readString(store.fetch(uri, sha).resolve("model.safetensors")),
                "a damaged cached copy is downloaded again");

        objects.put("/bucket/checkpoints/r/step-1/model.safetensors", "tampered in the store".getBytes(StandardCharsets.UTF_8));
        deleteCache();
        IOException tampered = assertThrows(IOException.class, () -> store.fetch(uri, sha));
        assertInstanceOf(CheckpointStore.CheckpointIntegrityException.class, tampered);
    }

    @Test
    void anUnfinishedUploadAndAMissingTokenAreClearErrors() throws Exception {
        Path dir = checkpoint("step-2", "w");
        HttpCheckpointStore store = store(TOKEN);
        URI uri = store.publish(dir, "r", "step-2");
        objects.remove("/bucket/checkpoints/r/step-2/" + HttpCheckpointStore.MANIFEST);
        IOException unfinished = assertThrows(IOException.class, () -> store.fetch(uri, null));
        assertTrue(unfinished.getMessage().contains(HttpCheckpointStore.MANIFEST + " is missing"), unfinished.getMessage());

        IOException denied = assertThrows(IOException.class, () -> store("").publish(dir, "r", "step-3"));
        assertTrue(denied.getMessage().contains("HTTP 401") && denied.getMessage().contains("checkpoint.store.authorization"),
                denied.getMessage());
    }

    @Test
    void theFileStoreReadsInPlaceAndVerifiesToo() throws Exception {
        Path dir = checkpoint("step-3", "local weights");
        String sha = AtomicFiles.sha256(dir.resolve("model.safetensors"));
        CheckpointStore store = CheckpointStore.forPublishing(LongpoConfig.load(null, Map.of("checkpoint.store.uri", "")));
        URI uri = store.publish(dir, "r", "step-3");
        assertEquals(dir.toUri(), uri);
        LongpoConfig c = LongpoConfig.load(null, Map.of());
        assertEquals(dir, CheckpointStore.fetch(c, uri.toString(), sha));
        assertInstanceOf(CheckpointStore.CheckpointIntegrityException.class,
                assertThrows(IOException.class, () -> CheckpointStore.fetch(c, uri.toString(), "f".repeat(64))));
        IOException missing = assertThrows(IOException.class,
                () -> CheckpointStore.fetch(c, tmp.resolve("elsewhere").toUri().toString(), sha));
        assertTrue(missing.getMessage().contains("shared filesystem"), missing.getMessage());
        IllegalArgumentException scheme = assertThrows(IllegalArgumentException.class,
                () -> CheckpointStore.fetch(c, "s3://bucket/ckpt/", sha));
        assertTrue(scheme.getMessage().contains("checkpoint.store.uri"), scheme.getMessage());
    }

    private void deleteCache() throws IOException {
        try (var walk = Files.walk(tmp.resolve("cache"))) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
