package dev.longpo.common;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress bars of long-running commands (the {@code me.tongfei:progressbar} library): redrawn in place
 * on a terminal, and written as an INFO log line every few seconds when the output is not one (CI, a
 * log file), so a slow run shows that it moves either way.
 */
public final class Progress {
    private static final Logger LOG = LoggerFactory.getLogger(Progress.class);

    private Progress() {
    }

    /** A bar for {@code max} items (-1: unknown), with speed in items per second. */
    public static ProgressBar bar(String task, long max) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(max).showSpeed();
        if (System.console() == null) {
            b.setConsumer(new DelegatingProgressBarConsumer(LOG::info)).setUpdateIntervalMillis(5000);
        }
        return b.build();
    }
}
