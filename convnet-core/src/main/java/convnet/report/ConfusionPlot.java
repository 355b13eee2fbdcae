package convnet.report;

import convnet.io.Png;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.DefaultXYZDataset;

/**
 * The confusion matrix as a PNG heat map: rows are the true classes, columns the predicted ones, each
 * cell coloured by its share of the true class (the colour scale beside it) and labelled with its count
 * when the classes are few. With many classes the axes show indices and a key below names them.
 */
public final class ConfusionPlot {
    private static final int NAMED = 30; // up to this many classes, the axes carry the names

    private ConfusionPlot() {}

    /** White to dark blue over [0, 1]. */
    record Blues() implements PaintScale {
        @Override
        public double getLowerBound() {
            return 0;
        }

        @Override
        public double getUpperBound() {
            return 1;
        }

        @Override
        public Paint getPaint(double v) {
            double f = Math.max(0, Math.min(1, v));
            return new Color(
                    (int) Math.round(255 - 247 * f), (int) Math.round(255 - 207 * f), (int) Math.round(255 - 148 * f));
        }
    }

    public static void write(Path file, List<String> classes, long[][] confusion) {
        int n = classes.size();
        double[] xs = new double[n * n], ys = new double[n * n], zs = new double[n * n];
        XYPlot plot = new XYPlot();
        for (int i = 0; i < n; i++) {
            long total = 0;
            for (long v : confusion[i]) total += v;
            for (int j = 0; j < n; j++) {
                int k = i * n + j;
                xs[k] = j;
                ys[k] = i;
                zs[k] = total == 0 ? 0 : (double) confusion[i][j] / total;
                if (n <= 15 && confusion[i][j] > 0) {
                    XYTextAnnotation count = new XYTextAnnotation(String.valueOf(confusion[i][j]), j, i);
                    count.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, n <= 8 ? 14 : 11));
                    count.setPaint(zs[k] > 0.5 ? Color.WHITE : Color.BLACK);
                    plot.addAnnotation(count);
                }
            }
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("confusion", new double[][] {xs, ys, zs});
        String[] names = new String[n];
        for (int i = 0; i < n; i++) names[i] = n <= NAMED ? shorten(classes.get(i)) : String.valueOf(i);
        SymbolAxis predicted = new SymbolAxis("predicted class", names), actual = new SymbolAxis("true class", names);
        predicted.setVerticalTickLabels(n > 4);
        predicted.setGridBandsVisible(false);
        Font ticks = new Font(Font.SANS_SERIF, Font.PLAIN, n <= 12 ? 13 : 10);
        predicted.setTickLabelFont(ticks);
        actual.setTickLabelFont(ticks);
        actual.setGridBandsVisible(false);
        actual.setInverted(true); // the first class at the top, as the matrix reads
        XYBlockRenderer renderer = new XYBlockRenderer();
        renderer.setPaintScale(new Blues());
        plot.setDataset(data);
        plot.setDomainAxis(predicted);
        plot.setRangeAxis(actual);
        plot.setRenderer(renderer);
        plot.setDomainAxisLocation(AxisLocation.BOTTOM_OR_LEFT);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        JFreeChart chart =
                new JFreeChart("confusion matrix (" + n + " classes)", JFreeChart.DEFAULT_TITLE_FONT, plot, false);
        chart.setBackgroundPaint(Color.WHITE);
        NumberAxis scaleAxis = new NumberAxis("share of the true class");
        scaleAxis.setRange(0, 1);
        scaleAxis.setTickUnit(new NumberTickUnit(0.1));
        PaintScaleLegend legend = new PaintScaleLegend(new Blues(), scaleAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setStripWidth(14);
        legend.setMargin(4, 8, 4, 8);
        chart.addSubtitle(legend);
        if (n > NAMED) chart.addSubtitle(key(classes));
        int side = Math.max(560, Math.min(1600, 200 + 22 * n));
        Png.write(file, chart.createBufferedImage(side + 120, side + (n > NAMED ? 18 * (n / 6 + 1) : 0)));
    }

    private static String shorten(String name) {
        return name.length() > 24 ? name.substring(0, 23) + "…" : name;
    }

    /** "0 name   1 name ..." in lines, naming the indices on the axes. */
    private static TextTitle key(List<String> classes) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < classes.size(); i++) {
            String entry = i + " " + shorten(classes.get(i));
            if (line.length() + entry.length() > 110) {
                lines.add(line.toString());
                line.setLength(0);
            }
            line.append(line.length() == 0 ? "" : "   ").append(entry);
        }
        lines.add(line.toString());
        TextTitle t = new TextTitle(String.join("\n", lines), new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        t.setPosition(RectangleEdge.BOTTOM);
        return t;
    }
}
