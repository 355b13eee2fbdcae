package convnet.report;

import convnet.train.EpochStats;
import convnet.train.TrainListener;
import convnet.train.Trainer;
import java.io.PrintStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Console progress: on a terminal, a bar per epoch (batches/s, loss, accuracy, learning rate),
 * redrawn at most ten times a second; otherwise plain log lines. One summary line per epoch either way.
 */
public final class ProgressLog implements TrainListener {
    private static final Logger log = LoggerFactory.getLogger("convnet.train");
    private final boolean terminal;
    private final PrintStream out = System.err;
    private long epochStart, lastDraw;
    private double lastValAcc = Double.NaN;

    public ProgressLog(boolean terminal) {
        this.terminal = terminal;
    }

    @Override
    public void onBatchEnd(Trainer t, int epoch, int batch, int batches, double loss, double acc) {
        long now = System.nanoTime();
        if (batch == 1) epochStart = now;
        if (!terminal || (now - lastDraw < 100_000_000L && batch < batches)) return;
        lastDraw = now;
        double secs = Math.max(1e-9, (now - epochStart) / 1e9);
        int width = 24, filled = (int) ((long) width * batch / batches);
        String bar = "█".repeat(filled) + "·".repeat(width - filled);
        out.printf(
                "\repoch %d/%d %s %d/%d  %.1f batch/s  loss %.4f  acc %.3f  val_acc %s  lr %.2e   ",
                epoch + 1,
                t.epochs,
                bar,
                batch,
                batches,
                (batch - 1) / secs,
                loss,
                acc,
                Double.isNaN(lastValAcc) ? "-" : String.format("%.3f", lastValAcc),
                t.currentLr());
        out.flush();
    }

    @Override
    public void onEpochEnd(Trainer t, EpochStats s) {
        if (terminal) out.print("\r" + " ".repeat(120) + "\r");
        lastValAcc = s.valAcc();
        log.info(String.format(
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
                s.skipped() > 0 ? "  (" + s.skipped() + " bad images skipped)" : ""));
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "-" : String.format("%.4f", v);
    }
}
