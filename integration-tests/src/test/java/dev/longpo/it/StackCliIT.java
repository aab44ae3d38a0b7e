package dev.longpo.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longpo.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code longpo up / status / ingest / down} as a user runs them: child JVMs, recorded PIDs, clear errors. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class StackCliIT {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private Run longpo(List<String> common, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            List<String> all = new ArrayList<>(List.of(args));
            all.addAll(1, common);
            return new Run(Main.execute(all.toArray(String[]::new)), out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void upStatusIngestDown() throws Exception {
        int kafka = RealStack.freePort();
        int controller = RealStack.freePort();
        int registry = RealStack.freePort();
        List<String> common = new ArrayList<>();
        for (String kv : List.of("stack.dir=" + dir.resolve("stack"), "stack.kafka.port=" + kafka,
                "stack.kafka.controller.port=" + controller, "stack.registry.port=" + registry,
                "stack.registry.home=" + System.getProperty("longpo.registry.home"),
                "kafka.bootstrap.servers=127.0.0.1:" + kafka,
                "registry.url=http://127.0.0.1:" + registry + "/apis/ccompat/v7")) {
            common.add("--set");
            common.add(kv);
        }
        assertEquals(3, longpo(common, "status").code(), "nothing running yet");
        Run up = longpo(common, "up");
        try {
            assertEquals(0, up.code(), up.err());
            assertTrue(up.out().contains("stack up"), up.out());
            Run status = longpo(common, "status");
            assertEquals(0, status.code(), status.out());
            assertTrue(status.out().contains("running, ready"), status.out());

            Run again = longpo(common, "up");
            assertEquals(1, again.code());
            assertTrue(again.err().contains("already running"), again.err());

            Path corpus = dir.resolve("corpus");
            Files.createDirectories(corpus);
            Files.writeString(corpus.resolve("doc.txt"), "One paragraph.\n\nAnother paragraph.");
            Files.write(corpus.resolve("broken.txt"), new byte[] {(byte) 0xC0});
            Run ingest = longpo(common, "ingest", corpus.toString());
            assertEquals(2, ingest.code(), "exit 2 when something was rejected");
            assertTrue(ingest.out().contains("ingested 1 documents"), ingest.out());
            assertTrue(ingest.err().contains("broken.txt: invalid UTF-8 at byte 0"), ingest.err());
        } finally {
            Run down = longpo(common, "down");
            assertEquals(0, down.code());
            assertTrue(down.out().contains("stopped registry"), down.out());
        }
        assertEquals(3, longpo(common, "status").code());
        assertTrue(longpo(common, "down").out().contains("no stack processes"));
    }

    @Test
    void aTakenPortIsAClearMessage() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Run up = longpo(List.of("--set", "stack.dir=" + dir.resolve("s2"), "--set",
                    "stack.kafka.port=" + taken.getLocalPort()), "up");
            assertEquals(1, up.code());
            assertTrue(up.err().contains("port " + taken.getLocalPort() + " on 127.0.0.1 is already in use"), up.err());
        }
    }
}
