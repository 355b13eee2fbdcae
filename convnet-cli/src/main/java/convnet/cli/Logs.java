package convnet.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logging set-up: the console level, and a copy of the log in the run directory. */
public final class Logs {
    private Logs() {}

    private static ch.qos.logback.classic.Logger root() {
        return (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
    }

    public static void setVerbose(boolean verbose) {
        root().setLevel(verbose ? Level.DEBUG : Level.INFO);
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("convnet"))
                .setLevel(verbose ? Level.DEBUG : Level.INFO);
    }

    /** Sets the level ({@code debug}, {@code info}, {@code warn} or {@code error}) of the console and the run's log file. */
    public static void setLevel(String level) {
        Level l = Level.toLevel(level.toUpperCase(Locale.ROOT), Level.INFO);
        root().setLevel(l);
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("convnet")).setLevel(l);
    }

    /** The charset the console log is written in (the encoder's; by default the platform's). */
    public static void consoleCharset(Charset charset) {
        var appender = root().getAppender("CONSOLE");
        if (appender instanceof ch.qos.logback.core.OutputStreamAppender<ILoggingEvent> out
                && out.getEncoder() instanceof ch.qos.logback.core.encoder.LayoutWrappingEncoder<ILoggingEvent> enc) {
            enc.setCharset(charset);
        }
    }

    /** Quiets info messages on the console (for --json output). */
    public static void quiet() {
        root().setLevel(Level.WARN);
    }

    /**
     * A copy of the log for a file that does not exist yet: what is logged from now on is held in memory
     * until {@link DeferredFile#openAt} names the file, then written there and appended from then on. Closed
     * without a file (a run that never started), the held lines are dropped and nothing is written.
     */
    public static DeferredFile deferredFile() {
        DeferredFile d = new DeferredFile();
        d.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
        d.setName("RUNFILE-DEFERRED");
        d.start();
        root().addAppender(d);
        return d;
    }

    /** See {@link #deferredFile()}. */
    public static final class DeferredFile extends ch.qos.logback.core.AppenderBase<ILoggingEvent>
            implements AutoCloseable {
        private final List<ILoggingEvent> held = new ArrayList<>();
        private AutoCloseable file;
        private FileAppender<ILoggingEvent> target;

        @Override
        protected void append(ILoggingEvent e) {
            if (target != null) {
                target.doAppend(e);
            } else {
                e.prepareForDeferredProcessing();
                held.add(e);
            }
        }

        /** Starts writing to {@code path}: the held lines first. */
        public synchronized void openAt(Path path) {
            if (target != null) return;
            target = fileAppender(path);
            for (ILoggingEvent e : held) target.doAppend(e);
            held.clear();
        }

        @Override
        public synchronized void close() {
            root().detachAppender(this);
            stop();
            if (target != null) target.stop();
            held.clear();
        }
    }

    private static FileAppender<ILoggingEvent> fileAppender(Path file) {
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
        return app;
    }
}
