package convnet.data.transform;

import static org.bytedeco.opencv.global.opencv_core.BORDER_CONSTANT;
import static org.bytedeco.opencv.global.opencv_core.BORDER_REFLECT_101;
import static org.bytedeco.opencv.global.opencv_core.copyMakeBorder;
import static org.bytedeco.opencv.global.opencv_core.flip;
import static org.bytedeco.opencv.global.opencv_core.merge;
import static org.bytedeco.opencv.global.opencv_core.split;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_AREA;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_LINEAR;
import static org.bytedeco.opencv.global.opencv_imgproc.equalizeHist;
import static org.bytedeco.opencv.global.opencv_imgproc.getRotationMatrix2D;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;
import static org.bytedeco.opencv.global.opencv_imgproc.warpAffine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.indexer.DoubleIndexer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.MatVector;
import org.bytedeco.opencv.opencv_core.Point2f;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.bytedeco.opencv.opencv_core.Size;

/** The transforms a pipeline lists (resize, crops, flips, colour, one_of, ...), each a {@link Transform}. Each takes a probability {@code p} (1 = always). */
public final class Transforms {
    private Transforms() {}

    static Map<String, Object> map(String op, Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("op", op);
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    public static Mat resizeTo(Mat img, int w, int h) {
        if (img.cols() == w && img.rows() == h) return img;
        Mat out = new Mat();
        boolean shrinking = w < img.cols() && h < img.rows();
        resize(img, out, new Size(w, h), 0, 0, shrinking ? INTER_AREA : INTER_LINEAR);
        return out;
    }

    static Mat crop(Mat img, int x, int y, int w, int h) {
        return new Mat(img, new Rect(x, y, w, h));
    }

    /** Resizes so the shorter side is {@code size} (aspect kept), or to exactly {@code height × width}. */
    public record Resize(int size, int height, int width) implements Transform {
        public Mat apply(Mat img, Random rng) {
            if (size > 0) return shorterSide(img, size);
            return resizeTo(img, width, height);
        }

        static Mat shorterSide(Mat img, int size) {
            int w = img.cols(), h = img.rows();
            if (w <= h) return resizeTo(img, size, (int) Math.round((double) h * size / w));
            return resizeTo(img, (int) Math.round((double) w * size / h), size);
        }

        public Map<String, Object> toMap() {
            return size > 0 ? map("resize", "size", size) : map("resize", "height", height, "width", width);
        }

        public int outputSize() {
            return size > 0 ? 0 : (height == width ? height : 0);
        }
    }

    /** Resizes the shorter side to a random S in [min, max] (the VGG paper's scale jittering). */
    public record ScaleJitter(int min, int max) implements Transform {
        public Mat apply(Mat img, Random rng) {
            return Resize.shorterSide(img, min + rng.nextInt(max - min + 1));
        }

        public Map<String, Object> toMap() {
            return map("scale_jitter", "min", min, "max", max);
        }
    }

    /** The central {@code size × size} square (the image is first enlarged if it is smaller). */
    public record CenterCrop(int size) implements Transform {
        public Mat apply(Mat img, Random rng) {
            if (img.cols() < size || img.rows() < size) img = Resize.shorterSide(img, size);
            return crop(img, (img.cols() - size) / 2, (img.rows() - size) / 2, size, size);
        }

        public Map<String, Object> toMap() {
            return map("center_crop", "size", size);
        }

        public int outputSize() {
            return size;
        }
    }

    /** A random {@code size × size} window after zero-padding each side by {@code padding}. */
    public record RandomCrop(int size, int padding) implements Transform {
        public Mat apply(Mat img, Random rng) {
            if (padding > 0) {
                Mat padded = new Mat();
                copyMakeBorder(
                        img, padded, padding, padding, padding, padding, BORDER_CONSTANT, new Scalar(0, 0, 0, 0));
                img = padded;
            }
            if (img.cols() < size || img.rows() < size) img = Resize.shorterSide(img, size);
            int x = rng.nextInt(img.cols() - size + 1), y = rng.nextInt(img.rows() - size + 1);
            return crop(img, x, y, size, size);
        }

        public Map<String, Object> toMap() {
            return map("random_crop", "size", size, "padding", padding);
        }

        public int outputSize() {
            return size;
        }
    }

    /** A random area fraction and aspect ratio, resized to {@code size × size} (Inception-style). */
    public record RandomResizedCrop(int size, double minScale, double maxScale, double minRatio, double maxRatio)
            implements Transform {
        public Mat apply(Mat img, Random rng) {
            int w = img.cols(), h = img.rows();
            double area = (double) w * h;
            for (int attempt = 0; attempt < 10; attempt++) {
                double target = area * (minScale + rng.nextDouble() * (maxScale - minScale));
                double logRatio = Math.log(minRatio) + rng.nextDouble() * (Math.log(maxRatio) - Math.log(minRatio));
                double ratio = Math.exp(logRatio);
                int cw = (int) Math.round(Math.sqrt(target * ratio)), ch = (int) Math.round(Math.sqrt(target / ratio));
                if (cw > 0 && ch > 0 && cw <= w && ch <= h) {
                    int x = rng.nextInt(w - cw + 1), y = rng.nextInt(h - ch + 1);
                    return resizeTo(crop(img, x, y, cw, ch), size, size);
                }
            }
            int s = Math.min(w, h);
            return resizeTo(crop(img, (w - s) / 2, (h - s) / 2, s, s), size, size);
        }

        public Map<String, Object> toMap() {
            return map(
                    "random_resized_crop",
                    "size",
                    size,
                    "scale",
                    List.of(minScale, maxScale),
                    "ratio",
                    List.of(minRatio, maxRatio));
        }

        public int outputSize() {
            return size;
        }
    }

    /** Mirror left–right. */
    public record HorizontalFlip() implements Transform {
        public Mat apply(Mat img, Random rng) {
            Mat out = new Mat();
            flip(img, out, 1);
            return out;
        }

        public Map<String, Object> toMap() {
            return map("hflip");
        }
    }

    /** Random shift (fraction of size), scale and rotation (degrees), keeping the image size; borders reflect. */
    public record ShiftScaleRotate(double shift, double scale, double rotate) implements Transform {
        public Mat apply(Mat img, Random rng) {
            int w = img.cols(), h = img.rows();
            double angle = (rng.nextDouble() * 2 - 1) * rotate;
            double s = 1 + (rng.nextDouble() * 2 - 1) * scale;
            double dx = (rng.nextDouble() * 2 - 1) * shift * w, dy = (rng.nextDouble() * 2 - 1) * shift * h;
            Mat m = getRotationMatrix2D(new Point2f(w / 2f, h / 2f), angle, s);
            DoubleIndexer idx = m.createIndexer();
            idx.put(0, 2, idx.get(0, 2) + dx);
            idx.put(1, 2, idx.get(1, 2) + dy);
            idx.release();
            Mat out = new Mat();
            warpAffine(img, out, m, new Size(w, h), INTER_LINEAR, BORDER_REFLECT_101, new Scalar(0, 0, 0, 0));
            return out;
        }

        public Map<String, Object> toMap() {
            return map("shift_scale_rotate", "shift", shift, "scale", scale, "rotate", rotate);
        }
    }

    /** pixel·(1+c) + 255·b, with b and c drawn from [-brightness, brightness] and [-contrast, contrast]. */
    public record BrightnessContrast(double brightness, double contrast) implements Transform {
        public Mat apply(Mat img, Random rng) {
            double b = (rng.nextDouble() * 2 - 1) * brightness, c = (rng.nextDouble() * 2 - 1) * contrast;
            Mat out = new Mat();
            img.convertTo(out, img.type(), 1 + c, 255 * b);
            return out;
        }

        public Map<String, Object> toMap() {
            return map("brightness_contrast", "brightness", brightness, "contrast", contrast);
        }
    }

    /** Histogram equalisation of each channel. */
    public record Equalize() implements Transform {
        public Mat apply(Mat img, Random rng) {
            MatVector channels = new MatVector();
            split(img, channels);
            MatVector eq = new MatVector(channels.size());
            for (long i = 0; i < channels.size(); i++) {
                Mat o = new Mat();
                equalizeHist(channels.get(i), o);
                eq.put(i, o);
            }
            Mat out = new Mat();
            merge(eq, out);
            return out;
        }

        public Map<String, Object> toMap() {
            return map("equalize");
        }
    }

    /** Applies one of its ops, chosen at random. */
    public record OneOf(List<Transform> ops) implements Transform {
        public Mat apply(Mat img, Random rng) {
            return ops.get(rng.nextInt(ops.size())).apply(img, rng);
        }

        public Map<String, Object> toMap() {
            List<Object> inner = new ArrayList<>();
            for (Transform t : ops) inner.add(t.toMap());
            return map("one_of", "ops", inner);
        }
    }

    /** Runs {@code op} with probability {@code p}. */
    public record WithProbability(Transform op, double p) implements Transform {
        public Mat apply(Mat img, Random rng) {
            return rng.nextDouble() < p ? op.apply(img, rng) : img;
        }

        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>(op.toMap());
            m.put("p", p);
            return m;
        }

        public int outputSize() {
            return 0;
        }
    }
}
