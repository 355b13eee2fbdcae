package convnet.eval;

import convnet.data.BadImageException;
import convnet.data.Images;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * An image decoded to 8-bit BGR pixels, the first of {@link Classifier}'s two steps: made in the caller's thread
 * by {@link Classifier#decode}, then given to {@link Classifier#classify}, which runs the model's evaluation
 * transforms on it as it fills the batch. The pixels live in native memory: {@link #close()} frees them at once
 * (the garbage collector would only free them late, as it does not see their size). Close it only once no
 * {@code classify} call is reading it; closing twice is fine.
 */
public final class DecodedImage implements Classifier.Input, AutoCloseable {
    private final String name;
    private Mat bgr;

    private DecodedImage(String name, Mat bgr) {
        if (bgr.type() != opencv_core.CV_8UC3)
            throw new IllegalStateException("the decoder returned type " + bgr.type() + ", not 8-bit BGR");
        this.name = name;
        this.bgr = bgr;
    }

    /** Reads and decodes an image file; an unreadable one is a {@link BadImageException} naming it. */
    public static DecodedImage read(Path file) {
        return kept(file.toString(), () -> Images.decode(file));
    }

    /** Decodes the bytes of an image file (JPEG, PNG, BMP, TIFF, WebP); {@code name} is for error messages. */
    public static DecodedImage decode(byte[] encoded, String name) {
        return kept(name, () -> Images.decode(Path.of(name), encoded));
    }

    /** Reads the encoded image to its end (the stream is not closed) and decodes it. */
    public static DecodedImage read(InputStream encoded, String name) {
        Path where = Path.of(name);
        byte[] b;
        try {
            b = encoded.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, Images.MAX_FILE_BYTES + 1));
        } catch (IOException e) {
            throw new BadImageException(where, "cannot read the stream: " + e.getMessage());
        }
        if (b.length > Images.MAX_FILE_BYTES)
            throw new BadImageException(where, "more than the limit of " + Images.MAX_FILE_BYTES + " bytes");
        return decode(b, name);
    }

    /** Any BufferedImage as 8-bit BGR (alpha dropped, grey and palette images expanded): one copy of its pixels. */
    public static DecodedImage of(BufferedImage image, String name) {
        int w = image.getWidth(), h = image.getHeight();
        if ((long) w * h > Images.MAX_PIXELS)
            throw new BadImageException(
                    Path.of(name), w + "×" + h + " pixels, more than the limit of " + Images.MAX_PIXELS);
        BufferedImage bgr = image;
        if (image.getType() != BufferedImage.TYPE_3BYTE_BGR) {
            bgr = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
            Graphics2D g = bgr.createGraphics();
            g.drawImage(image, 0, 0, null);
            g.dispose();
        }
        byte[] px = ((DataBufferByte) bgr.getRaster().getDataBuffer()).getData();
        return kept(name, () -> {
            Mat m = new Mat(h, w, opencv_core.CV_8UC3);
            m.data().put(px);
            return m;
        });
    }

    private interface Decoder {
        Mat decode();
    }

    /**
     * The decoder's Mat, kept beyond a scope of its own: whatever else the decoder allocates is freed now, and a
     * scope the caller may have open does not take the pixels with it when it closes.
     */
    private static DecodedImage kept(String name, Decoder decoder) {
        try (PointerScope scope = new PointerScope()) {
            Mat m = decoder.decode();
            m.retainReference(); // the scope's closing releases its own reference only; close() releases this one
            try {
                return new DecodedImage(name, m);
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
        }
    }

    /** The name given for error messages (the file, or what the caller called it). */
    public String name() {
        return name;
    }

    public synchronized int width() {
        return pixels().cols();
    }

    public synchronized int height() {
        return pixels().rows();
    }

    /** The pixels; the caller must not close or change them. */
    synchronized Mat pixels() {
        if (bgr == null) throw new IllegalStateException("the decoded image '" + name + "' is closed");
        return bgr;
    }

    /** Frees the pixels; later use throws {@link IllegalStateException}. */
    @Override
    public synchronized void close() {
        if (bgr != null) {
            bgr.close();
            bgr = null;
        }
    }

    @Override
    public String toString() {
        return "DecodedImage[" + name + "]";
    }
}
