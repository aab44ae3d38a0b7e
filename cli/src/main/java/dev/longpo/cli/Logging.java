package dev.longpo.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.filter.ThresholdFilter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.FileAppender;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Where the command line's log lines go, beyond the console of {@code logback.xml}. */
final class Logging {
    private Logging() {
    }

    /**
     * From now on every log line also goes to {@code file}, and the console shows only warnings and errors:
     * the demo keeps its screen for progress from the topics and its workers' lines in one file.
     */
    static void toFile(Path file) {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        PatternLayoutEncoder enc = new PatternLayoutEncoder();
        enc.setContext(ctx);
        enc.setPattern("%d{HH:mm:ss.SSS} %-5level [%thread] %logger{0} - %msg%n");
        enc.start();
        FileAppender<ILoggingEvent> fa = new FileAppender<>();
        fa.setContext(ctx);
        fa.setName("FILE");
        fa.setFile(file.toString());
        fa.setEncoder(enc);
        fa.start();
        root.addAppender(fa);
        Appender<ILoggingEvent> console = root.getAppender("STDERR");
        if (console != null) {
            ThresholdFilter warn = new ThresholdFilter();
            warn.setLevel("WARN");
            warn.start();
            console.clearAllFilters();
            console.addFilter(warn);
        }
    }
}
