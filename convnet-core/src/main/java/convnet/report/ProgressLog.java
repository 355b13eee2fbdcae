package convnet.report;

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
    public void onBatchEnd(Trainer t, BatchEnd b) {
        int epoch = b.epoch(), batch = b.batch(), batches = b.batches();
        double loss = b.loss(), acc = b.acc();
        long now = System.nanoTime();
        if (batch == t.batchInEpochAtStart() + 1) lastLine = now;
        double secs = Math.max(1e-3, (now - t.epochStartNanos()) / 1e9);
        int done = batch - t.batchInEpochAtStart();
        double perBatch = secs / done, imagesPerSecond = done * t.train().batchSize() / secs;
        double epochLeft = perBatch * (batches - batch);
        double runLeft =
                epochLeft + (t.epochs() - epoch - 1) * (Double.isNaN(epochSeconds) ? perBatch * batches : epochSeconds);
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
                log.info("epoch {}/{}  {}", epoch + 1, t.epochs(), figures);
            }
            return;
        }
        if (now - lastDraw < 100_000_000L && batch < batches) return;
        lastDraw = now;
        String[] parts = {
            "epoch " + (epoch + 1) + "/" + t.epochs(),
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

    /**
     * The progress line in fewer than {@code columns} characters, so that it never wraps (a wrapped line is not
     * redrawn by {@code \r}: every redraw would leave a new line). Parts: epoch, batch, img/s, loss, acc, val_acc, lr,
     * times; the bar goes after the epoch. When the line is too wide the bar shrinks to 10 cells, then lr, val_acc,
     * the elapsed and run times (the epoch's time left stays), img/s go; then the bar to 5, acc, loss and the time.
     * The bar then takes what room is left, up to 20 cells.
     */
    String fit(String[] parts, double fraction, int columns) {
        int room = Math.max(10, columns - 1);
        String[] p = parts.clone();
        String shortTimes = p[7].substring(p[7].indexOf("left"), p[7].indexOf(" (run"));
        int bar = 20;
        for (int step = 0; ; step++) {
            String line = join(p, bar, fraction);
            if (line.length() <= room) return join(p, Math.min(20, bar + room - line.length()), fraction);
            switch (step) {
                case 0 -> bar = 10;
                case 1 -> p[6] = null; // lr
                case 2 -> p[5] = null; // val_acc
                case 3 -> p[7] = shortTimes;
                case 4 -> p[2] = null; // img/s
                case 5 -> bar = 5;
                case 6 -> p[4] = null; // acc
                case 7 -> p[3] = null; // loss
                case 8 -> p[7] = null;
                default -> {
                    return line.substring(0, room);
                }
            }
        }
    }

    private String join(String[] parts, int bar, double fraction) {
        StringBuilder b = new StringBuilder(parts[0]);
        int filled = (int) Math.min(bar, Math.floor(bar * fraction));
        b.append(' ').append(full.repeat(filled)).append(empty.repeat(bar - filled));
        for (int i = 1; i < parts.length; i++)
            if (parts[i] != null) b.append("  ").append(parts[i]);
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
                t.epochs(),
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
