package dev.longpo.common;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar on stderr (items/s, MB/s), redrawn at most ten times a second; plain log
 * lines when stderr is not a terminal. Thread-safe.
 */
public final class Progress {
    private final String label;
    private final long total;
    private final PrintStream out;
    private final boolean tty;
    private final long start = System.nanoTime();
    private long items;
    private long bytes;
    private long lastDraw;

    /** @param total expected items, or -1 when unknown */
    public Progress(String label, long total) {
        this(label, total, System.err, System.console() != null);
    }

    Progress(String label, long total, PrintStream out, boolean tty) {
        this.label = label;
        this.total = total;
        this.out = out;
        this.tty = tty;
    }

    /** Counts one more item of {@code size} bytes. */
    public synchronized void step(long size) {
        items++;
        bytes += size;
        long now = System.nanoTime();
        if (now - lastDraw > (tty ? 100_000_000L : 5_000_000_000L)) {
            lastDraw = now;
            draw(false);
        }
    }

    /** Final line with totals. */
    public synchronized String finish() {
        String line = line();
        if (tty) {
            out.print("\r\033[K");
        }
        return line;
    }

    public synchronized long items() {
        return items;
    }

    public synchronized double itemsPerSecond() {
        return items / seconds();
    }

    public synchronized double megabytesPerSecond() {
        return bytes / 1e6 / seconds();
    }

    /** Seconds since this progress started. */
    public double elapsedSeconds() {
        return seconds();
    }

    private double seconds() {
        return Math.max(1e-9, (System.nanoTime() - start) / 1e9);
    }

    private void draw(boolean done) {
        if (tty) {
            out.print("\r\033[K" + line());
        } else if (!done) {
            out.println(line());
        }
        out.flush();
    }

    private String line() {
        String bar = "";
        if (total > 0) {
            int width = 24;
            int filled = (int) Math.min(width, items * width / total);
            bar = "[" + "#".repeat(filled) + " ".repeat(width - filled) + "] ";
        }
        return String.format(Locale.ROOT, "%s%s %d%s  %.1f/s  %.2f MB/s  %.1fs", bar, label, items,
                total > 0 ? "/" + total : "", itemsPerSecond(), megabytesPerSecond(), seconds());
    }
}
