package dev.longpo.common;

import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where checkpoints live between the trainer that writes them and the workers that read them (the
 * claim check of the {@code checkpoints} and {@code iterations} events), chosen by URI scheme:
 * {@code file:} for one machine or a shared filesystem ({@link FileCheckpointStore}), {@code http:} and
 * {@code https:} for an object store that takes PUT and GET of objects under a base URL
 * ({@link HttpCheckpointStore}). Every {@link #fetch} verifies the weights against the announced
 * SHA-256, so a reader never loads weights other than the ones the trainer announced.
 */
public interface CheckpointStore {
    /** The weights file whose SHA-256 the announcements carry. */
    String WEIGHTS = "model.safetensors";

    /**
     * Makes the complete checkpoint directory {@code dir} readable by every worker under {@code run}/{@code
     * name} and returns the URI to announce. Publishing the same weights again is a no-op.
     */
    URI publish(Path dir, String run, String name) throws IOException;

    /**
     * A local directory holding the checkpoint at {@code uri}, its weights verified against {@code sha256}
     * (skipped when null: a checkpoint announced without one).
     *
     * @throws CheckpointIntegrityException when the weights are not the announced ones
     */
    Path fetch(URI uri, String sha256) throws IOException;

    /** Thrown when a checkpoint's weights do not match the SHA-256 they were announced with. */
    final class CheckpointIntegrityException extends IOException {
        private static final long serialVersionUID = 1L;

        public CheckpointIntegrityException(String message) {
            super(message);
        }
    }

    /** The store checkpoints are published to: {@code checkpoint.store.uri}, empty for the trainer's own folder. */
    static CheckpointStore forPublishing(LongpoConfig c) {
        String uri = c.get("checkpoint.store.uri", "").trim();
        return uri.isEmpty() ? new FileCheckpointStore() : forUri(URI.create(uri), c);
    }

    /** The store that serves {@code uri} (an announced checkpoint), by its scheme. */
    static CheckpointStore forUri(URI uri, LongpoConfig c) {
        String scheme = uri.getScheme() == null ? "file" : uri.getScheme().toLowerCase(Locale.ROOT);
        return switch (scheme) {
            case "file" -> new FileCheckpointStore();
            case "http", "https" -> HttpCheckpointStore.fromConfig(uri, c);
            default -> throw new IllegalArgumentException("no checkpoint store for '" + uri + "': use file:, http: or"
                    + " https: (checkpoint.store.uri)");
        };
    }

    /** Fetches the announced checkpoint at {@code uri} from the store its scheme names. */
    static Path fetch(LongpoConfig c, String uri, String sha256) throws IOException {
        URI u = URI.create(uri);
        return forUri(u, c).fetch(u, sha256);
    }

    /** Checks {@code dir}'s weights against {@code sha256} (null: nothing to check). */
    static void verify(Path dir, String sha256, URI from) throws IOException {
        if (sha256 == null) {
            return;
        }
        String actual = AtomicFiles.sha256(dir.resolve(WEIGHTS));
        if (!actual.equalsIgnoreCase(sha256)) {
            throw new CheckpointIntegrityException("checkpoint weights do not match the announced SHA-256: " + from
                    + " has " + actual + ", announced " + sha256);
        }
    }
}
