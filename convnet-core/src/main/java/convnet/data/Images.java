package convnet.data;

import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Decoding image files into 8-bit, 3-channel BGR matrices with OpenCV (grayscale, palette, alpha and
 * 16-bit images become 8-bit colour; EXIF orientation is applied), and turning them into normalised
 * channel-first RGB floats.
 */
public final class Images {
    private Images() {}

    /** Largest image accepted, in pixels; a header claiming more is refused before any allocation. */
    public static final long MAX_PIXELS = 100_000_000L;

    /** Reads and decodes {@code file}; call inside a PointerScope. */
    public static Mat decode(Path file) {
        return decode(file, read(file));
    }

    /** Largest image file read, in bytes: a compressed image of {@link #MAX_PIXELS} pixels is far smaller. */
    public static final long MAX_FILE_BYTES = 1L << 30;

    /**
     * The bytes of an image file: only a regular file (a pipe or a device such as /dev/zero would block or
     * never end), and no larger than {@link #MAX_FILE_BYTES}.
     */
    public static byte[] read(Path file) {
        try {
            if (Files.exists(file) && !Files.isRegularFile(file)) {
                throw new BadImageException(
                        file,
                        Files.isDirectory(file)
                                ? "a folder, not an image file"
                                : "not a regular file (a pipe or a device)");
            }
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES)
                throw new BadImageException(
                        file, "file of " + size + " bytes, larger than the limit of " + MAX_FILE_BYTES);
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new BadImageException(file, "cannot read: " + e.getMessage());
        }
    }

    /**
     * {width, height} as the file's header states them, read without decoding (PNG, JPEG, GIF, BMP), or null
     * when the format's header is not read or is cut short: the check {@link #decode(Path, byte[])} makes
     * against {@link #MAX_PIXELS}, for callers with a lower limit of their own.
     */
    public static long[] headerSize(byte[] bytes) {
        return ImageHeader.size(bytes);
    }

    public static Mat decode(Path file, byte[] bytes) {
        if (bytes.length == 0) throw new BadImageException(file, "empty file (0 bytes)");
        long[] size = ImageHeader.size(bytes);
        // divided, not multiplied: two 32-bit dimensions can overflow a long's product
        if (size != null && (size[0] < 0 || size[1] < 0 || (size[1] > 0 && size[0] > MAX_PIXELS / size[1]))) {
            throw new BadImageException(
                    file, "header claims " + size[0] + "×" + size[1] + " pixels, more than the limit of " + MAX_PIXELS);
        }
        if (isJpeg(bytes) && !endsWithEoi(bytes)) {
            throw new BadImageException(file, "truncated JPEG (no end-of-image marker)");
        }
        if ("png".equals(sniff(bytes))) bytes = withoutColourChunks(bytes);
        Mat img;
        try (BytePointer data = new BytePointer(bytes)) {
            Mat buf = new Mat(1, bytes.length, opencv_core.CV_8UC1, data);
            img = imdecode(buf, IMREAD_COLOR);
        } catch (RuntimeException e) {
            throw new BadImageException(file, "not a readable image: " + e.getMessage());
        }
        if (img == null || img.empty()) {
            throw new BadImageException(file, "not a readable image (unknown format, or truncated/corrupt data)");
        }
        return img;
    }

    static boolean isJpeg(byte[] b) {
        return b.length >= 3 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8 && (b[2] & 0xff) == 0xFF;
    }

    /** JPEG files end with FF D9, possibly followed by padding. */
    static boolean endsWithEoi(byte[] b) {
        int end = b.length;
        while (end > 2 && (b[end - 1] == 0 || b[end - 1] == '\n' || b[end - 1] == '\r' || b[end - 1] == ' ')) end--;
        for (int i = end - 2; i >= Math.max(0, end - 64); i--) {
            if ((b[i] & 0xff) == 0xFF && (b[i + 1] & 0xff) == 0xD9) return true;
        }
        return false;
    }

    /** What kind of image the content says this is (by magic number), or null if none. */
    /**
     * A PNG without its ancillary chunks but {@code tRNS} (colour profiles, gamma, text, times): OpenCV ignores
     * them anyway, and libpng prints warnings about damaged ones straight to the terminal ("libpng warning:
     * iCCP: ..."). Pixel data and transparency are unchanged; anything that does not parse is left as it was.
     */
    static byte[] withoutColourChunks(byte[] png) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(png.length);
        out.write(png, 0, 8);
        int at = 8;
        while (at + 12 <= png.length) {
            long len = ((png[at] & 0xffL) << 24)
                    | ((png[at + 1] & 0xff) << 16)
                    | ((png[at + 2] & 0xff) << 8)
                    | (png[at + 3] & 0xff);
            if (len > png.length - at - 12) return png; // damaged or truncated: let the decoder say so
            int whole = (int) len + 12;
            boolean ancillary = Character.isLowerCase((char) png[at + 4]);
            boolean transparency = png[at + 4] == 't' && png[at + 5] == 'R' && png[at + 6] == 'N' && png[at + 7] == 'S';
            if (!ancillary || transparency) out.write(png, at, whole);
            at += whole;
        }
        if (at < png.length) out.write(png, at, png.length - at);
        return out.toByteArray();
    }

    public static String sniff(byte[] b) {
        if (b.length < 12) return b.length >= 3 && isJpeg(b) ? "jpeg" : null;
        if (isJpeg(b)) return "jpeg";
        if ((b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return "png";
        if (b[0] == 'G' && b[1] == 'I' && b[2] == 'F' && b[3] == '8') return "gif";
        if (b[0] == 'B' && b[1] == 'M') return "bmp";
        if ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0)
                || (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42)) return "tiff";
        if (b[0] == 'R'
                && b[1] == 'I'
                && b[2] == 'F'
                && b[3] == 'F'
                && b[8] == 'W'
                && b[9] == 'E'
                && b[10] == 'B'
                && b[11] == 'P') return "webp";
        return null;
    }

    /**
     * Channel-first RGB floats of a BGR image: {@code (value/255 - mean[c]) / std[c]}, written into
     * {@code out} at {@code offset}.
     */
    public static void toChw(Mat bgr, float[] mean, float[] std, float[] out, int offset) {
        Mat m = bgr.isContinuous() ? bgr : bgr.clone();
        int h = m.rows(), w = m.cols(), plane = h * w;
        byte[] px = new byte[plane * 3];
        m.data().get(px);
        float[] scale = new float[3], shift = new float[3];
        for (int c = 0; c < 3; c++) {
            scale[c] = 1f / (255f * std[c]);
            shift[c] = -mean[c] / std[c];
        }
        for (int i = 0, j = 0; i < plane; i++, j += 3) {
            out[offset + i] = (px[j + 2] & 0xff) * scale[0] + shift[0];
            out[offset + plane + i] = (px[j + 1] & 0xff) * scale[1] + shift[1];
            out[offset + 2 * plane + i] = (px[j] & 0xff) * scale[2] + shift[2];
        }
    }
}
