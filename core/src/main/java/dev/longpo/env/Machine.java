package dev.longpo.env;

import java.lang.management.ManagementFactory;
import java.util.Locale;

/** The machine a run is on, in words, for model cards and reports: cores, memory and OS as the JVM sees them. */
public final class Machine {
    private Machine() {
    }

    /** For example {@code "2 cores, 23 GiB, Linux amd64 (CPU)"}. */
    public static String describe() {
        long gib = 0;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            gib = os.getTotalMemorySize() >> 30;
        }
        return String.format(Locale.ROOT, "%d cores, %d GiB, %s %s (CPU)", Runtime.getRuntime().availableProcessors(), gib,
                System.getProperty("os.name"), System.getProperty("os.arch"));
    }
}
