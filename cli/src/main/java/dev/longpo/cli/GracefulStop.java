package dev.longpo.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Ctrl-C (SIGTERM) for a long-running command: the signal sets {@link #flag()}, and the JVM waits, up
 * to {@code cleanup}, until the command closes this object, that is until it has finished its batch
 * in flight and its cleanup. Open it before the work and close it last (try-with-resources).
 */
final class GracefulStop implements AutoCloseable {
    /** For commands whose cleanup must always complete (workers committing, stream processors closing). */
    static final Duration UNTIL_DONE = Duration.ofNanos(Long.MAX_VALUE);

    private final AtomicBoolean requested = new AtomicBoolean();
    private final CountDownLatch signalled = new CountDownLatch(1);
    private final CountDownLatch done = new CountDownLatch(1);
    private final Thread hook;

    GracefulStop(Duration cleanup) {
        hook = new Thread(() -> {
            requested.set(true);
            signalled.countDown();
            try {
                done.await(cleanup.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "longpo-graceful-stop");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Set once a stop was requested; the flag the workers poll. */
    AtomicBoolean flag() {
        return requested;
    }

    boolean requested() {
        return requested.get();
    }

    /** Blocks until a stop is requested. */
    void awaitRequest() throws InterruptedException {
        signalled.await();
    }

    /** The command is done: a pending shutdown may finish; without one, the hook is removed. */
    @Override
    public void close() {
        done.countDown();
        if (!requested.get()) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is already exiting for another reason; the hook will find the latch open
            }
        }
    }
}
