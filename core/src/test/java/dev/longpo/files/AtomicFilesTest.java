package dev.longpo.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Atomic writes with their SHA-256, and the deletes every checkpoint and stack folder goes through. */
class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void aWriteReturnsTheSha256OfWhatItWrote() throws Exception {
        Path f = dir.resolve("a/b.txt");
        String sha = AtomicFiles.write(f, "abc".getBytes(StandardCharsets.UTF_8));
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", sha, "SHA-256 of \"abc\" (FIPS 180-2)");
        assertEquals(sha, AtomicFiles.sha256(f));
        try (var s = Files.list(f.getParent())) {
            assertEquals(1, s.count(), "no temporary file left beside it");
        }
    }

    @Test
    void deleteTreeRemovesNestedFoldersAndDeleteContentsKeepsTheFolder() throws Exception {
        Path root = dir.resolve("root");
        Files.createDirectories(root.resolve("x/y/z"));
        Files.writeString(root.resolve("x/y/z/f"), "1");
        Files.writeString(root.resolve("g"), "2");
        Files.createSymbolicLink(root.resolve("link"), dir);
        AtomicFiles.deleteContents(root);
        assertTrue(Files.isDirectory(root));
        try (var s = Files.list(root)) {
            assertEquals(0, s.count());
        }
        assertTrue(Files.isDirectory(dir), "a link is removed, not followed");
        Files.writeString(root.resolve("h"), "3");
        AtomicFiles.deleteTree(root);
        assertFalse(Files.exists(root));
        AtomicFiles.deleteTree(root);
        AtomicFiles.deleteContents(root);
    }
}
