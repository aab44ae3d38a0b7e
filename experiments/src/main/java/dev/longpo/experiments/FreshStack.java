package dev.longpo.experiments;

import dev.longpo.common.LongpoConfig;
import dev.longpo.deploy.EmbeddedStack;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * An embedded stack (Kafka broker + registry) started on empty topics for one run, stopped at
 * {@link #close()} unless {@link #keep()} was asked: what the demo and the reproduction run on. It
 * refuses to start when a stack is already running, so no run ever mixes its events with another's.
 */
public final class FreshStack implements AutoCloseable {
    private final EmbeddedStack stack;
    private boolean keep;

    private FreshStack(EmbeddedStack stack) {
        this.stack = stack;
    }

    /** Empties {@code stack.dir} and starts the stack on it. */
    public static FreshStack start(LongpoConfig config) throws IOException {
        EmbeddedStack stack = new EmbeddedStack(config);
        if (stack.status().running()) {
            throw new IllegalStateException("an embedded stack is already running; this run starts its own on empty"
                    + " topics: run 'longpo down' first");
        }
        wipe(stack.dir());
        stack.up();
        return new FreshStack(stack);
    }

    /** Configuration for clients of this stack. */
    public LongpoConfig clientConfig() {
        return stack.clientConfig();
    }

    /** Leaves the stack running after {@link #close()} (for {@code longpo monitor}, {@code status}, {@code down}). */
    public void keep() {
        keep = true;
    }

    @Override
    public void close() {
        if (!keep) {
            stack.down();
        }
    }

    /** Empties a folder (broker data of an earlier run), keeping the folder itself. */
    static void wipe(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir)) {
                    Files.delete(p);
                }
            }
        }
    }
}
