package dev.longpo.common;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checkpoints read in place, by {@code file:} URI: the trainer's folder on one machine, or a shared
 * filesystem (NFS, a Kubernetes ReadWriteMany volume) mounted at the same path on every worker.
 */
public final class FileCheckpointStore implements CheckpointStore {
    @Override
    public URI publish(Path dir, String run, String name) throws IOException {
        if (!Files.isRegularFile(dir.resolve(WEIGHTS))) {
            throw new IOException("no checkpoint to publish in " + dir + " (" + WEIGHTS + " is missing)");
        }
        return dir.toAbsolutePath().toUri();
    }

    @Override
    public Path fetch(URI uri, String sha256) throws IOException {
        Path dir = Path.of(uri);
        if (!Files.isRegularFile(dir.resolve(WEIGHTS))) {
            throw new IOException("cannot read checkpoint " + dir + ": no " + WEIGHTS + " there (checkpoints announced"
                    + " as file: URIs need the trainer's folder on this machine or a shared filesystem;"
                    + " see checkpoint.store.uri)");
        }
        CheckpointStore.verify(dir, sha256, uri);
        return dir;
    }
}
