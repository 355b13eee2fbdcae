package convnet.report;

import convnet.io.Png;
import convnet.train.EpochStats;
import convnet.train.TrainListener;
import convnet.train.Trainer;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.geom.Rectangle2D;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTick;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * PNG line charts of loss, accuracy and learning rate per epoch (JFreeChart: ticks at round numbers, a
 * log axis for the learning rate, axis titles, the run's name in the title), redrawn from the metrics rows
 * after every epoch.
 */
public final class Plots implements TrainListener {
    private static final Color TRAIN = new Color(31, 119, 180),
            VAL = new Color(255, 127, 14),
            TOP5 = new Color(44, 160, 44),
            LR = new Color(148, 103, 189),
            EMA = new Color(214, 39, 40);
    private final Path dir;
    private final MetricsCsv metrics;
    private final String run;
    private final boolean top5;

    /**
     * Charts of run {@code run} drawn from {@code metrics}' rows into folder {@code dir}; {@code top5}: whether
     * top-5 accuracy says anything (more than five classes; with five or fewer it is always 1).
     */
    public Plots(Path dir, MetricsCsv metrics, String run, boolean top5) {
        this.dir = dir;
        this.metrics = metrics;
        this.run = run;
        this.top5 = top5;
    }

    record Series(String name, Color color, ToDoubleFunction<EpochStats> value) {}

    /** A log axis with ticks at 1, 2 and 5 × 10^k (JFreeChart's own puts them at fractional powers of ten). */
    static final class RoundLogAxis extends LogAxis {
        RoundLogAxis(String label) {
            super(label);
        }

        @Override
        @SuppressWarnings({"rawtypes", "unchecked"})
        public List refreshTicksVertical(Graphics2D g2, Rectangle2D dataArea, RectangleEdge edge) {
            List ticks = new ArrayList();
            double lo = getLowerBound(), hi = getUpperBound();
            for (int k = (int) Math.floor(Math.log10(lo)) - 1; k <= (int) Math.ceil(Math.log10(hi)); k++) {
                for (int m : new int[] {1, 2, 5}) {
                    double v = m * Math.pow(10, k);
                    if (v >= lo && v <= hi) {
                        ticks.add(new NumberTick(v, label(m, k), TextAnchor.CENTER_RIGHT, TextAnchor.CENTER, 0));
                    }
                }
            }
            return ticks;
        }

        /** 0.05, 0.002 down to a thousandth; 5e-4 below. */
        static String label(int m, int k) {
            if (k >= 0) return String.valueOf((long) (m * Math.pow(10, k)));
            if (k >= -3) return new BigDecimal(m).movePointLeft(-k).toPlainString();
            return m + "e" + k;
        }
    }

    @Override
    public void onTrainStart(Trainer trainer) {
        if (!metrics.rows().isEmpty()) draw(metrics.rows()); // catch up after a resume (killed before the last drawing)
    }

    @Override
    public void onEpochEnd(Trainer trainer, EpochStats ignored) {
        draw(metrics.rows());
    }

    /** The lines of the accuracy chart: top-5 only where it can differ from 1. */
    List<Series> accuracySeries() {
        List<Series> acc = new ArrayList<>(List.of(
                new Series("train", TRAIN, EpochStats::trainAcc), new Series("validation", VAL, EpochStats::valAcc)));
        // the weight average's line where the run keeps one (a series of NaN draws nothing)
        acc.add(new Series("validation, weight average (EMA)", EMA, EpochStats::emaValAcc));
        if (top5) acc.add(new Series("validation top-5", TOP5, EpochStats::valTop5));
        return acc;
    }

    /** Draws the three charts of {@code rows}. */
    void draw(List<EpochStats> rows) {
        write(
                "loss.png",
                "loss",
                "cross-entropy loss",
                rows,
                false,
                List.of(
                        new Series("train", TRAIN, EpochStats::trainLoss),
                        new Series("validation", VAL, EpochStats::valLoss),
                        new Series("validation, weight average (EMA)", EMA, EpochStats::emaValLoss)));
        List<Series> acc = accuracySeries();
        write("accuracy.png", "accuracy", "accuracy", rows, false, acc);
        write(
                "lr.png",
                "learning rate",
                "learning rate (log scale)",
                rows,
                true,
                List.of(new Series("learning rate", LR, EpochStats::lr)));
    }

    void write(String name, String what, String yTitle, List<EpochStats> rows, boolean logY, List<Series> series) {
        Png.write(
                dir.resolve(name),
                chart(run + ": " + what, yTitle, rows, logY, series).createBufferedImage(800, 480));
    }

    static JFreeChart chart(String title, String yTitle, List<EpochStats> rows, boolean logY, List<Series> series) {
        XYSeriesCollection data = new XYSeriesCollection();
        List<Color> colors = new ArrayList<>();
        for (Series s : series) {
            XYSeries xy = new XYSeries(s.name());
            for (EpochStats r : rows) {
                double v = s.value().applyAsDouble(r);
                if (Double.isFinite(v) && (!logY || v > 0)) xy.add(r.epoch(), v);
            }
            if (!xy.isEmpty()) {
                data.addSeries(xy);
                colors.add(s.color());
            }
        }
        NumberAxis x = new NumberAxis("epoch");
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits()); // whole epochs, at 1, 2, 5 × 10^k steps
        x.setAutoRangeIncludesZero(false);
        ValueAxis y;
        if (logY) {
            LogAxis log = new RoundLogAxis(yTitle);
            log.setSmallestValue(1e-12);
            y = log;
        } else {
            NumberAxis linear = new NumberAxis(yTitle);
            linear.setAutoRangeIncludesZero(false);
            y = linear;
        }
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, rows.size() <= 40);
        for (int i = 0; i < colors.size(); i++) {
            renderer.setSeriesPaint(i, colors.get(i));
            renderer.setSeriesStroke(i, new BasicStroke(2f));
        }
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(220, 220, 220));
        plot.setRangeGridlinePaint(new Color(220, 220, 220));
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }
}
