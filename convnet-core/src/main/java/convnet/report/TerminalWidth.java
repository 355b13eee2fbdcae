package convnet.report;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * The width of the terminal the process draws on: {@code $COLUMNS} when set, else what {@code stty size} reads from
 * the controlling terminal, read again when the window is resized (SIGWINCH); 80 when neither tells.
 */
final class TerminalWidth {
    private TerminalWidth() {}

    private static volatile int columns = -1;

    /** A supplier of the current width; the first call reads it and installs the resize handler. */
    static IntSupplier watch() {
        if (columns < 0) {
            columns = read();
            try {
                sun.misc.Signal.handle(new sun.misc.Signal("WINCH"), s -> columns = read());
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // no SIGWINCH here: the width read at the start stays
            }
        }
        return () -> columns;
    }

    static int read() {
        Integer env = parse(System.getenv("COLUMNS"));
        if (env != null) return env;
        try {
            Process p = new ProcessBuilder("stty", "size")
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/tty")))
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            if (p.waitFor(2, TimeUnit.SECONDS) && p.exitValue() == 0) {
                String[] rowsCols = out.trim().split("\\s+");
                if (rowsCols.length == 2) {
                    Integer c = parse(rowsCols[1]);
                    if (c != null) return c;
                }
            }
        } catch (IOException e) {
            // no stty or no terminal
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 80;
    }

    private static Integer parse(String s) {
        if (s == null) return null;
        try {
            int v = Integer.parseInt(s.trim());
            return v > 0 ? v : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
