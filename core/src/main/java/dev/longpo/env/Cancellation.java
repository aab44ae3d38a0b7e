package dev.longpo.env;

import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * A stop request bound to a thread, for long loops deep below a worker (generation, evaluation) that
 * have no stop flag of their own: the worker binds its flag once, the loop calls {@link #check} between
 * steps. Cooperative on purpose: a thread interrupt would also close any interruptible channel the
 * thread happens to write to (a log appender, a test runner's stdout).
 */
public final class Cancellation {
    private static final ThreadLocal<BooleanSupplier> STOP = ThreadLocal.withInitial(() -> () -> false);

    private Cancellation() {
    }

    /** Binds {@code stop} to the current thread until {@link #unbind}. */
    public static void bind(BooleanSupplier stop) {
        STOP.set(stop);
    }

    /** Removes the current thread's binding. */
    public static void unbind() {
        STOP.remove();
    }

    /** True once the current thread's bound flag is set. */
    public static boolean requested() {
        return STOP.get().getAsBoolean();
    }

    /** Throws a {@link CancellationException} naming {@code where} once a stop was requested. */
    public static void check(String where) {
        if (requested()) {
            throw new CancellationException("stopped " + where);
        }
    }
}
