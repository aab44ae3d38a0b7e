package dev.longpo.files;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Atomic file writes (temp file in the same folder, fsync, rename) that report the content's SHA-256. */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Writes content produced by {@code body}; readers see the old file or the whole new one, never a part. */
    public static String write(Path target, IoConsumer<OutputStream> body) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
        setMode(tmp, "rw-r--r--");
        MessageDigest sha = sha256();
        try {
            try (OutputStream raw = Files.newOutputStream(tmp, StandardOpenOption.WRITE);
                 OutputStream out = new DigestOutputStream(new java.io.BufferedOutputStream(raw, 1 << 20), sha)) {
                body.accept(out);
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    public static String write(Path target, byte[] content) throws IOException {
        return write(target, out -> out.write(content));
    }

    /**
     * Sets POSIX permissions such as {@code rw-r--r--}: temp files and folders start owner-only, but
     * checkpoints are read by other workers' users too. File systems without POSIX modes keep their defaults.
     */
    public static void setMode(Path p, String mode) throws IOException {
        if (p.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString(mode));
        }
    }

    /** Deletes a folder and everything in it (nothing if it does not exist). */
    public static void deleteTree(Path p) throws IOException {
        deleteContents(p);
        Files.deleteIfExists(p);
    }

    /** Deletes everything in a folder, keeping the folder itself (nothing if it does not exist). */
    public static void deleteContents(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                if (!q.equals(dir)) {
                    Files.deleteIfExists(q);
                }
            }
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** SHA-256 of a file, hex. */
    public static String sha256(Path file) throws IOException {
        MessageDigest sha = sha256();
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A consumer that may throw IOException. */
    @FunctionalInterface
    public interface IoConsumer<T> {
        void accept(T t) throws IOException;
    }
}
