package dev.longpo.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.common.LongpoConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loop.role.settings}: each role of an in-process run takes its own settings file over the shared ones. */
class RoleSettingsTest {
    @TempDir
    Path dir;

    @Test
    void aRolesFileOverridesTheSharedSettingsAndOnlyForThatRole() throws Exception {
        Files.writeString(dir.resolve("train.properties"), "kafka.sasl.jaas.config=train-identity\nrun.id=from-the-file\n");
        Files.writeString(dir.resolve("eval.properties"), "kafka.sasl.jaas.config=eval-identity\n");
        LongpoConfig shared = LongpoConfig.load(null, Map.of("kafka.sasl.jaas.config", "admin", "run.id", "r",
                "loop.role.settings", dir.toString()));
        assertEquals("train-identity", LoopRunner.forRole(shared, "train").get("kafka.sasl.jaas.config"));
        assertEquals("from-the-file", LoopRunner.forRole(shared, "train").get("run.id"), "the file wins, key by key");
        assertEquals("eval-identity", LoopRunner.forRole(shared, "eval").get("kafka.sasl.jaas.config"));
        assertEquals("r", LoopRunner.forRole(shared, "eval").get("run.id"), "keys the file lacks stay shared");
        assertEquals("admin", shared.get("kafka.sasl.jaas.config"), "the shared settings are unchanged");
    }

    @Test
    void withoutTheSettingEveryRoleUsesTheSharedSettings() {
        LongpoConfig shared = LongpoConfig.load(null, Map.of());
        assertSame(shared, LoopRunner.forRole(shared, "respond"));
    }

    @Test
    void aMissingFileNamesTheRoleAndTheFix() {
        LongpoConfig shared = LongpoConfig.load(null, Map.of("loop.role.settings", dir.toString()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoopRunner.forRole(shared, "streams"));
        assertTrue(e.getMessage().contains("streams.properties") && e.getMessage().contains("longpo setup --secure"),
                e.getMessage());
    }
}
