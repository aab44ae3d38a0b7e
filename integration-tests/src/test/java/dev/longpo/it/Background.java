package dev.longpo.it;

import java.util.concurrent.atomic.AtomicBoolean;

/** A worker's loop on a thread of its own until its stop flag is set (a failure is the thread's uncaught exception). */
final class Background {
    private Background() {
    }

    /** A loop that runs until {@code stop} is set. */
    interface Body {
        void run(AtomicBoolean stop) throws Exception;
    }

    static Thread start(AtomicBoolean stop, Body body) {
        Thread t = new Thread(() -> {
            try {
                body.run(stop);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        t.start();
        return t;
    }
}
