package convnet.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.train.EpochStats;
import java.awt.Color;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberTick;
import org.jfree.chart.ui.RectangleEdge;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The charts a run draws: titled with the run, round ticks, a log axis for the rate, no constant top-5 line. */
class PlotsTest {
    static List<EpochStats> rows(int n) {
        List<EpochStats> out = new ArrayList<>();
        for (int e = 1; e <= n; e++) {
            out.add(new EpochStats(
                    e, 0.05 * Math.pow(0.3, e), 2.0 / e, 0.3 + 0.05 * e, 2.2 / e, 0.25 + 0.05 * e, 1.0, 3, e * 10L, 0));
        }
        return out;
    }

    @Test
    void theLearningRateIsOnALogAxisWithTicksAtOneTwoFive() {
        JFreeChart c = Plots.chart(
                "r: learning rate",
                "learning rate",
                rows(8),
                true,
                List.of(new Plots.Series("lr", Color.BLACK, EpochStats::lr)));
        assertTrue(c.getXYPlot().getRangeAxis() instanceof Plots.RoundLogAxis);
        c.createBufferedImage(800, 480); // lays the axes out
        Plots.RoundLogAxis axis = (Plots.RoundLogAxis) c.getXYPlot().getRangeAxis();
        List<?> ticks = axis.refreshTicksVertical(null, new Rectangle2D.Double(0, 0, 700, 400), RectangleEdge.LEFT);
        assertTrue(ticks.size() >= 4, ticks.toString());
        for (Object t : ticks) {
            double v = ((NumberTick) t).getValue();
            double mantissa = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
            assertTrue(
                    Math.abs(mantissa - 1) < 1e-6 || Math.abs(mantissa - 2) < 1e-6 || Math.abs(mantissa - 5) < 1e-6,
                    "tick " + v);
        }
        assertEquals("0.05", Plots.RoundLogAxis.label(5, -2));
        assertEquals("5e-4", Plots.RoundLogAxis.label(5, -4));
    }

    @Test
    void accuracyLeavesOutTopFiveWithFiveClassesOrFewer(@TempDir Path tmp) throws Exception {
        for (boolean top5 : new boolean[] {false, true}) {
            Path dir = tmp.resolve("p" + top5);
            new Plots(dir, null, "myrun", top5).draw(rows(4));
            BufferedImage img = ImageIO.read(dir.resolve("accuracy.png").toFile());
            assertEquals(800, img.getWidth());
            assertTrue(ImageIO.read(dir.resolve("lr.png").toFile()) != null
                    && ImageIO.read(dir.resolve("loss.png").toFile()) != null);
        }
        List<Plots.Series> acc = new ArrayList<>(List.of(new Plots.Series("train", Color.BLUE, EpochStats::trainAcc)));
        JFreeChart c = Plots.chart("myrun: accuracy", "accuracy", rows(4), false, acc);
        assertEquals("myrun: accuracy", c.getTitle().getText());
        assertEquals("epoch", c.getXYPlot().getDomainAxis().getLabel());
    }

    @Test
    void aConfusionMatrixOfManyClassesIsDrawnWithAKey(@TempDir Path tmp) throws Exception {
        int n = 40;
        List<String> names = new ArrayList<>();
        long[][] m = new long[n][n];
        for (int i = 0; i < n; i++) {
            names.add("class number " + i);
            m[i][i] = 5;
            m[i][(i + 1) % n] = 1;
        }
        ConfusionPlot.write(tmp.resolve("c.png"), names, m);
        Path keep = Path.of("convnet-core/target/confusion-40-classes.png"); // kept to look at
        Files.createDirectories(keep.getParent());
        Files.copy(tmp.resolve("c.png"), keep, StandardCopyOption.REPLACE_EXISTING);
        BufferedImage img = ImageIO.read(tmp.resolve("c.png").toFile());
        assertTrue(
                img.getWidth() > 600 && img.getHeight() > img.getWidth() - 120, img.getWidth() + "x" + img.getHeight());
    }
}
