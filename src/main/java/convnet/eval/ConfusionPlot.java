package convnet.eval;

import convnet.io.Png;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

/** The confusion matrix as a PNG heat map, rows normalised to the true class. */
public final class ConfusionPlot {
    private ConfusionPlot() {}

    public static void write(Path file, List<String> classes, long[][] confusion) {
        int n = classes.size(), cell = Math.max(12, Math.min(48, 640 / Math.max(1, n))), margin = 140;
        int size = margin + n * cell + 20;
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, size, size);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, Math.min(12, cell - 2)));
        for (int i = 0; i < n; i++) {
            long total = 0;
            for (long v : confusion[i]) total += v;
            for (int j = 0; j < n; j++) {
                double f = total == 0 ? 0 : (double) confusion[i][j] / total;
                int shade = (int) Math.round(255 * (1 - f));
                g.setColor(new Color(shade, shade, 255));
                g.fillRect(margin + j * cell, margin + i * cell, cell, cell);
                if (cell >= 24 && confusion[i][j] > 0) {
                    g.setColor(f > 0.5 ? Color.WHITE : Color.BLACK);
                    g.drawString(
                            String.valueOf(confusion[i][j]), margin + j * cell + 3, margin + i * cell + cell / 2 + 4);
                }
            }
            g.setColor(Color.BLACK);
            String label = classes.get(i).length() > 18 ? classes.get(i).substring(0, 17) + "…" : classes.get(i);
            g.drawString(label, 4, margin + i * cell + cell / 2 + 4);
            Graphics2D r = (Graphics2D) g.create();
            r.rotate(-Math.PI / 2, margin + i * cell + cell / 2 + 4, margin - 6);
            r.drawString(label, margin + i * cell + cell / 2 + 4, margin - 6);
            r.dispose();
        }
        g.drawString("true ↓  predicted →", 4, 16);
        g.dispose();
        Png.write(file, img);
    }
}
