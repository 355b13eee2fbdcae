package convnet.report;

import convnet.io.Png;
import convnet.train.EpochStats;
import convnet.train.TrainListener;
import convnet.train.Trainer;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/** PNG line charts of loss, accuracy and learning rate per epoch, redrawn from the metrics rows after every epoch. */
public final class Plots implements TrainListener {
    private final Path dir;
    private final MetricsCsv metrics;

    /** Charts drawn from {@code metrics}' rows into folder {@code dir}. */
    public Plots(Path dir, MetricsCsv metrics) {
        this.dir = dir;
        this.metrics = metrics;
    }

    record Series(String name, Color color, ToDoubleFunction<EpochStats> value) {}

    @Override
    public void onEpochEnd(Trainer trainer, EpochStats ignored) {
        List<EpochStats> rows = metrics.rows();
        write(
                "loss.png",
                "loss",
                rows,
                false,
                new Series("train", new Color(31, 119, 180), EpochStats::trainLoss),
                new Series("val", new Color(255, 127, 14), EpochStats::valLoss));
        write(
                "accuracy.png",
                "accuracy",
                rows,
                false,
                new Series("train", new Color(31, 119, 180), EpochStats::trainAcc),
                new Series("val", new Color(255, 127, 14), EpochStats::valAcc),
                new Series("val top-5", new Color(44, 160, 44), EpochStats::valTop5));
        write("lr.png", "learning rate", rows, true, new Series("lr", new Color(148, 103, 189), EpochStats::lr));
    }

    void write(String name, String title, List<EpochStats> rows, boolean log, Series... series) {
        Png.write(dir.resolve(name), chart(title, rows, log, series));
    }

    static BufferedImage chart(String title, List<EpochStats> rows, boolean log, Series... series) {
        int w = 720, h = 420, left = 80, right = 20, top = 40, bottom = 50;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        int maxEpoch = 1;
        for (EpochStats r : rows) {
            maxEpoch = Math.max(maxEpoch, r.epoch());
            for (Series s : series) {
                double v = s.value.applyAsDouble(r);
                if (Double.isNaN(v) || (log && v <= 0)) continue;
                v = log ? Math.log10(v) : v;
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (!Double.isFinite(lo)) {
            lo = 0;
            hi = 1;
        }
        if (hi - lo < 1e-12) {
            hi += 0.5;
            lo -= 0.5;
        }
        double pad = (hi - lo) * 0.05;
        lo -= pad;
        hi += pad;
        g.setColor(new Color(230, 230, 230));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int i = 0; i <= 5; i++) {
            int y = top + (h - top - bottom) * i / 5;
            g.drawLine(left, y, w - right, y);
            double v = hi - (hi - lo) * i / 5;
            g.setColor(Color.DARK_GRAY);
            g.drawString(
                    log ? String.format(Locale.ROOT, "%.1e", Math.pow(10, v)) : String.format(Locale.ROOT, "%.3f", v),
                    8,
                    y + 4);
            g.setColor(new Color(230, 230, 230));
        }
        g.setColor(Color.DARK_GRAY);
        g.drawRect(left, top, w - left - right, h - top - bottom);
        for (int e = 1; e <= maxEpoch; e += Math.max(1, maxEpoch / 10)) {
            int x = left + (int) ((double) (w - left - right) * (e - 1) / Math.max(1, maxEpoch - 1));
            g.drawString(String.valueOf(e), x - 4, h - bottom + 16);
        }
        g.drawString("epoch", w / 2 - 15, h - 12);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, left, 25);
        g.setStroke(new BasicStroke(2f));
        int legendX = w - right - 110;
        for (int k = 0; k < series.length; k++) {
            Series s = series[k];
            g.setColor(s.color);
            List<int[]> pts = new ArrayList<>();
            for (EpochStats r : rows) {
                double v = s.value.applyAsDouble(r);
                if (Double.isNaN(v) || (log && v <= 0)) continue;
                v = log ? Math.log10(v) : v;
                int x = left + (int) ((double) (w - left - right) * (r.epoch() - 1) / Math.max(1, maxEpoch - 1));
                int y = top + (int) ((h - top - bottom) * (hi - v) / (hi - lo));
                pts.add(new int[] {x, y});
            }
            for (int i = 1; i < pts.size(); i++)
                g.drawLine(pts.get(i - 1)[0], pts.get(i - 1)[1], pts.get(i)[0], pts.get(i)[1]);
            for (int[] p : pts) g.fillOval(p[0] - 3, p[1] - 3, 6, 6);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            int lx = legendX - 100 * (series.length - 1 - k);
            g.drawLine(lx, 20, lx + 20, 20);
            g.drawString(s.name, lx + 26, 24);
        }
        g.dispose();
        return img;
    }
}
