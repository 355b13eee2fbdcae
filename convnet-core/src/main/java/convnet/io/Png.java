package convnet.io;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** PNG encoding of rendered charts and sample images. */
public final class Png {
    private Png() {}

    static {
        System.setProperty("java.awt.headless", "true");
    }

    public static byte[] encode(BufferedImage img) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new IllegalStateException("PNG encoding failed", e);
        }
        return out.toByteArray();
    }

    /** Encodes and writes atomically. */
    public static void write(Path file, BufferedImage img) {
        byte[] png = encode(img);
        AtomicFiles.writeAtomically(file, o -> o.write(png));
    }

    /** An image from channel-first RGB floats in [0, 1]. */
    public static BufferedImage fromChw(float[] px, int size) {
        int plane = size * size;
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < plane; i++) {
            int r = clamp(px[i]), g = clamp(px[plane + i]), b = clamp(px[2 * plane + i]);
            img.setRGB(i % size, i / size, (r << 16) | (g << 8) | b);
        }
        return img;
    }

    private static int clamp(float v) {
        return Math.max(0, Math.min(255, Math.round(v * 255)));
    }
}
