package convnet.report;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;

/** Logging set-up: the console level, and a copy of the log in the run directory. */
public final class Logs {
    private Logs() {}

    private static ch.qos.logback.classic.Logger root() {
        return (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    }

    public static void setVerbose(boolean verbose) {
        root().setLevel(verbose ? Level.DEBUG : Level.INFO);
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("convnet")).setLevel(verbose ? Level.DEBUG : Level.INFO);
    }

    /** Sets the level ({@code debug}, {@code info}, {@code warn} or {@code error}) of the console and the run's log file. */
    public static void setLevel(String level) {
        Level l = Level.toLevel(level.toUpperCase(java.util.Locale.ROOT), Level.INFO);
        root().setLevel(l);
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("convnet")).setLevel(l);
    }

    /** Quiets info messages on the console (for --json output). */
    public static void quiet() {
        root().setLevel(Level.WARN);
    }

    /** Appends everything logged from now on to {@code file} as well, with full timestamps, until closed. */
    public static AutoCloseable toFile(Path file) {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        PatternLayoutEncoder enc = new PatternLayoutEncoder();
        enc.setContext(ctx);
        enc.setPattern("%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level %logger{20} - %msg%n");
        enc.start();
        FileAppender<ILoggingEvent> app = new FileAppender<>();
        app.setContext(ctx);
        app.setName("RUNFILE");
        app.setFile(file.toString());
        app.setAppend(true);
        app.setEncoder(enc);
        app.start();
        root().addAppender(app);
        return () -> {
            root().detachAppender(app);
            app.stop();
        };
    }
}
