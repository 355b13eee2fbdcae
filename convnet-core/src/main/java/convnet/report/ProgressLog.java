package convnet.report;

import convnet.io.AsciiFallback;
import convnet.train.EpochStats;
import convnet.train.TrainListener;
import convnet.train.Trainer;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.util.Locale;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Console progress. On a terminal: a bar per epoch with images/s, loss, accuracy, learning rate, the
 * elapsed time and the time left in the epoch and in the run, redrawn at most ten times a second, and a
 * line while validating. Elsewhere (a pipe, nohup, CI, a scheduler): a plain log line at most every
 * {@code every} seconds, so that a long epoch is not silent. One summary line per epoch either way.
 */
public final class ProgressLog implements TrainListener {
    private static final Logger log = LoggerFactory.getLogger("convnet.train");
    private final boolean terminal;
    private final IntSupplier columns;
    private final double every;
    private final PrintStream out;
    private final String full, empty;
    private static final String CLEAR_LINE = "\033[K"; // to the end of the line
    private long lastDraw, lastLine;
    private double lastValAcc = Double.NaN, epochSeconds = Double.NaN;

    /** With {@code every} seconds between plain lines (when not on a terminal), drawing on {@code out} in {@code charset}. */
    public ProgressLog(boolean terminal, double every, PrintStream out, Charset charset) {
        this(terminal, every, out, charset, terminal ? TerminalWidth.watch() : () -> 80);
    }

    /** As above, with the terminal's width in columns from {@code columns} (read at every redraw). */
    public ProgressLog(boolean terminal, double every, PrintStream out, Charset charset, IntSupplier columns) {
        this.columns = columns;
        this.terminal = terminal;
        this.every = every;
        this.out = out;
        boolean glyphs = AsciiFallback.canShowGlyphs(charset);
        this.full = glyphs ? "█" : "#";
        this.empty = glyphs ? "·" : ".";
    }

    @Override
    public void onBatchEnd(Trainer t, int epoch, int batch, int batches, double loss, double acc) {
        long now = System.nanoTime();
        if (batch == t.batchInEpochAtStart() + 1) lastLine = now;
        double secs = Math.max(1e-3, (now - t.epochStartNanos()) / 1e9);
        int done = batch - t.batchInEpochAtStart();
        double perBatch = secs / done, imagesPerSecond = done * t.train.batchSize() / secs;
        double epochLeft = perBatch * (batches - batch);
        double runLeft =
                epochLeft + (t.epochs - epoch - 1) * (Double.isNaN(epochSeconds) ? perBatch * batches : epochSeconds);
        String figures = String.format(
                Locale.ROOT,
                "%d/%d  %.0f img/s  loss %.4f  acc %.3f  val_acc %s  lr %.2e  %s, left %s (run %s)",
                batch,
                batches,
                imagesPerSecond,
                loss,
                acc,
                Double.isNaN(lastValAcc) ? "-" : String.format(Locale.ROOT, "%.3f", lastValAcc),
                t.currentLr(),
                clock(secs),
                clock(epochLeft),
                clock(runLeft));
        if (!terminal) {
            if ((now - lastLine) / 1e9 >= every && batch < batches) {
                lastLine = now;
                log.info("epoch {}/{}  {}", epoch + 1, t.epochs, figures);
            }
            return;
        }
        if (now - lastDraw < 100_000_000L && batch < batches) return;
        lastDraw = now;
        String[] parts = {
            "epoch " + (epoch + 1) + "/" + t.epochs,
            batch + "/" + batches,
            String.format(Locale.ROOT, "%.0f img/s", imagesPerSecond),
            String.format(Locale.ROOT, "loss %.4f", loss),
            String.format(Locale.ROOT, "acc %.3f", acc),
            "val_acc " + (Double.isNaN(lastValAcc) ? "-" : String.format(Locale.ROOT, "%.3f", lastValAcc)),
            String.format(Locale.ROOT, "lr %.2e", t.currentLr()),
            clock(secs) + ", left " + clock(epochLeft) + " (run " + clock(runLeft) + ")"
        };
        out.print("\r" + fit(parts, (double) batch / batches, columns.getAsInt()) + CLEAR_LINE);
        out.flush();
    }

    /** What goes first when the line is too wide: the bar shrinks, then these parts go, in this order. */
    private static final int[] DROP_ORDER = {6, 5, 2, 4, 7};

    /**
     * The progress line in fewer than {@code columns} characters, so that it never wraps (a wrapped line is not
     * redrawn by {@code \r}: every redraw would leave a new line). Parts: epoch, batch, img/s, loss, acc, val_acc, lr,
     * times; the bar (20 cells, at least 5) goes after the epoch.
     */
    String fit(String[] parts, double fraction, int columns) {
        int room = Math.max(10, columns - 1);
        boolean[] dropped = new boolean[parts.length];
        for (int bar = 20; ; ) {
            String line = join(parts, dropped, bar, fraction);
            if (line.length() <= room) return line;
            if (bar > 5) bar = Math.max(5, bar - (line.length() - room));
            else {
                int next = -1;
                for (int i : DROP_ORDER)
                    if (!dropped[i]) {
                        next = i;
                        break;
                    }
                if (next < 0) return line.substring(0, room);
                dropped[next] = true;
            }
        }
    }

    private String join(String[] parts, boolean[] dropped, int bar, double fraction) {
        StringBuilder b = new StringBuilder(parts[0]);
        int filled = (int) Math.min(bar, Math.floor(bar * fraction));
        b.append(' ').append(full.repeat(filled)).append(empty.repeat(bar - filled));
        for (int i = 1; i < parts.length; i++) if (!dropped[i]) b.append("  ").append(parts[i]);
        return b.toString();
    }

    @Override
    public void onValidationBatch(Trainer t, int batch, int batches) {
        long now = System.nanoTime();
        if (!terminal || (now - lastDraw < 100_000_000L && batch < batches)) return;
        lastDraw = now;
        out.print("\rvalidating " + batch + "/" + batches + CLEAR_LINE); // 25 characters at most
        out.flush();
    }

    @Override
    public void onEpochEnd(Trainer t, EpochStats s) {
        if (terminal) out.print("\r" + CLEAR_LINE);
        lastValAcc = s.valAcc();
        epochSeconds = s.seconds();
        log.info(String.format(
                Locale.ROOT,
                "epoch %d/%d  train loss %.4f acc %.4f  val loss %s acc %s top5 %s  lr %.3g  %.1fs%s",
                s.epoch(),
                t.epochs,
                s.trainLoss(),
                s.trainAcc(),
                fmt(s.valLoss()),
                fmt(s.valAcc()),
                fmt(s.valTop5()),
                s.lr(),
                s.seconds(),
                (Double.isNaN(s.emaValAcc()) ? "" : String.format(Locale.ROOT, "  ema acc %.4f", s.emaValAcc()))
                        + (s.skipped() > 0 ? "  (" + s.skipped() + " bad images skipped)" : "")));
    }

    @Override
    public void onTrainEnd(Trainer t) {
        if (t.earlyStopping() != null && t.earlyStopping().stoppedAfter() > 0) {
            log.info(
                    "early stopping after epoch {}: {}",
                    t.earlyStopping().stoppedAfter(),
                    t.earlyStopping().reason());
        }
    }

    /** {@code m:ss}, or {@code h:mm:ss} from an hour on. */
    static String clock(double seconds) {
        long s = Math.round(Math.max(0, seconds));
        return s >= 3600
                ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }
}
