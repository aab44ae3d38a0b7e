package dev.longpo.experiments;

import dev.longpo.common.KafkaClients;
import dev.longpo.common.LongpoConfig;
import dev.longpo.deploy.Access;
import dev.longpo.deploy.EmbeddedStack;
import dev.longpo.files.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;

/**
 * An embedded stack (Kafka broker + registry) started on empty topics for one run, stopped at
 * {@link #close()} unless {@link #keep()} was asked: what the demo and the reproduction run on. It
 * refuses to start when a stack is already running, so no run ever mixes its events with another's.
 * A secure stack ({@code stack.kafka.secure}) gets a user and ACLs per role ({@link Access}, as
 * {@code longpo setup --secure}), and its client configuration names their settings files
 * ({@code loop.role.settings}), so each role of the run works under its own principal.
 */
public final class FreshStack implements AutoCloseable {
    private final EmbeddedStack stack;
    private final LongpoConfig clientConfig;
    private boolean keep;

    private FreshStack(EmbeddedStack stack, LongpoConfig clientConfig) {
        this.stack = stack;
        this.clientConfig = clientConfig;
    }

    /** Empties {@code stack.dir} and starts the stack on it. */
    public static FreshStack start(LongpoConfig config) throws IOException {
        EmbeddedStack stack = new EmbeddedStack(config);
        if (stack.status().running()) {
            throw new IllegalStateException("an embedded stack is already running; this run starts its own on empty"
                    + " topics: run 'longpo down' first");
        }
        AtomicFiles.deleteContents(stack.dir()); // broker data of an earlier run
        stack.up();
        LongpoConfig cc = stack.clientConfig();
        if (config.getBoolean("stack.kafka.secure")) {
            Path credentials = stack.dir().resolve("credentials");
            try {
                Access.apply(new KafkaClients(cc), credentials);
            } catch (IOException | RuntimeException e) {
                stack.down();
                throw e;
            }
            cc = cc.with("loop.role.settings", credentials.toString());
        }
        return new FreshStack(stack, cc);
    }

    /** Configuration for clients of this stack (the admin's identity on a secure one, with the roles' files). */
    public LongpoConfig clientConfig() {
        return clientConfig;
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
}
