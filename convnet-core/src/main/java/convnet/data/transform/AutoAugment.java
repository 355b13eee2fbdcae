package convnet.data.transform;

import static org.bytedeco.opencv.global.opencv_core.BORDER_CONSTANT;
import static org.bytedeco.opencv.global.opencv_core.CV_64F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_core.LUT;
import static org.bytedeco.opencv.global.opencv_core.addWeighted;
import static org.bytedeco.opencv.global.opencv_core.mean;
import static org.bytedeco.opencv.global.opencv_core.minMaxLoc;
import static org.bytedeco.opencv.global.opencv_core.split;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_BGR2GRAY;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_GRAY2BGR;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_NEAREST;
import static org.bytedeco.opencv.global.opencv_imgproc.cvtColor;
import static org.bytedeco.opencv.global.opencv_imgproc.filter2D;
import static org.bytedeco.opencv.global.opencv_imgproc.getRotationMatrix2D;
import static org.bytedeco.opencv.global.opencv_imgproc.warpAffine;

import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.indexer.DoubleIndexer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.MatVector;
import org.bytedeco.opencv.opencv_core.Point2f;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.bytedeco.opencv.opencv_core.Size;

/**
 * torchvision's RandAugment and TrivialAugmentWide, built from OpenCV operations on 8-bit BGR images:
 * the same fourteen ops, the same 31 magnitude bins and ranges, nearest-neighbour warps with a black fill
 * (torchvision's defaults).
 */
public final class AutoAugment {
    private AutoAugment() {}

    public static final int BINS = 31;

    /** The ops in torchvision's order. */
    public enum Op {
        IDENTITY,
        SHEAR_X,
        SHEAR_Y,
        TRANSLATE_X,
        TRANSLATE_Y,
        ROTATE,
        BRIGHTNESS,
        COLOR,
        CONTRAST,
        SHARPNESS,
        POSTERIZE,
        SOLARIZE,
        AUTO_CONTRAST,
        EQUALIZE;

        /** Whether torchvision draws a random sign for the magnitude. */
        boolean signed() {
            return switch (this) {
                case SHEAR_X, SHEAR_Y, TRANSLATE_X, TRANSLATE_Y, ROTATE, BRIGHTNESS, COLOR, CONTRAST, SHARPNESS -> true;
                default -> false;
            };
        }

        /** The magnitude of bin {@code bin} (0..30) in RandAugment's space, or TrivialAugmentWide's when {@code wide}. */
        public double magnitude(int bin, boolean wide, int width, int height) {
            double t = bin / (double) (BINS - 1);
            return switch (this) {
                case SHEAR_X, SHEAR_Y -> t * (wide ? 0.99 : 0.3);
                case TRANSLATE_X -> t * (wide ? 32.0 : 150.0 / 331.0 * width);
                case TRANSLATE_Y -> t * (wide ? 32.0 : 150.0 / 331.0 * height);
                case ROTATE -> t * (wide ? 135.0 : 30.0);
                case BRIGHTNESS, COLOR, CONTRAST, SHARPNESS -> t * (wide ? 0.99 : 0.9);
                case POSTERIZE -> 8 - Math.round(bin / ((BINS - 1) / (wide ? 6.0 : 4.0)));
                case SOLARIZE -> 255.0 * (1 - t);
                default -> 0;
            };
        }
    }

    /** RandAugment (Cubuk et al. 2020): {@code n} ops drawn uniformly, each at magnitude bin {@code m} (0..30). */
    public record RandAugment(int n, int m) implements Transform {
        public Mat apply(Mat img, Random rng) {
            Op[] all = Op.values();
            for (int i = 0; i < n; i++) {
                Op op = all[rng.nextInt(all.length)];
                img = applyDrawn(img, op, m, false, rng);
            }
            return img;
        }

        public Map<String, Object> toMap() {
            return Transforms.map("rand_augment", "n", n, "m", m);
        }
    }

    /** TrivialAugmentWide (Müller and Hutter 2021): one op, a magnitude bin drawn uniformly, the wide ranges. */
    public record TrivialAugmentWide() implements Transform {
        public Mat apply(Mat img, Random rng) {
            Op[] all = Op.values();
            Op op = all[rng.nextInt(all.length)];
            return applyDrawn(img, op, rng.nextInt(BINS), true, rng);
        }

        public Map<String, Object> toMap() {
            return Transforms.map("trivial_augment_wide");
        }
    }

    static Mat applyDrawn(Mat img, Op op, int bin, boolean wide, Random rng) {
        double mag = op.magnitude(bin, wide, img.cols(), img.rows());
        if (op.signed() && rng.nextBoolean()) mag = -mag;
        return apply(img, op, mag);
    }

    /** One op at one magnitude, as torchvision's {@code _apply_op}. */
    public static Mat apply(Mat img, Op op, double mag) {
        int w = img.cols(), h = img.rows();
        return switch (op) {
            case IDENTITY -> img;
            case SHEAR_X -> affine(img, new double[] {1, mag, 0, 0, 1, 0});
            case SHEAR_Y -> affine(img, new double[] {1, 0, 0, mag, 1, 0});
            case TRANSLATE_X -> affine(img, new double[] {1, 0, (int) mag, 0, 1, 0});
            case TRANSLATE_Y -> affine(img, new double[] {1, 0, 0, 0, 1, (int) mag});
            case ROTATE -> {
                Mat m = getRotationMatrix2D(new Point2f((w - 1) / 2f, (h - 1) / 2f), mag, 1);
                yield warp(img, m);
            }
            case BRIGHTNESS -> {
                Mat out = new Mat();
                img.convertTo(out, -1, 1 + mag, 0);
                yield out;
            }
            case COLOR -> addWeightedTo(img, 1 + mag, gray3(img));
            case CONTRAST -> {
                Mat gray = new Mat();
                cvtColor(img, gray, COLOR_BGR2GRAY);
                double m = mean(gray).get(0);
                Mat out = new Mat();
                img.convertTo(out, -1, 1 + mag, m * -mag);
                yield out;
            }
            case SHARPNESS -> addWeightedTo(img, 1 + mag, smoothed(img));
            case POSTERIZE -> {
                int keep = 0xff & ~((1 << (8 - (int) mag)) - 1);
                byte[] lut = new byte[256];
                for (int i = 0; i < 256; i++) lut[i] = (byte) (i & keep);
                yield lut(img, lut);
            }
            case SOLARIZE -> {
                byte[] lut = new byte[256];
                for (int i = 0; i < 256; i++) lut[i] = (byte) (i >= mag ? 255 - i : i);
                yield lut(img, lut);
            }
            case AUTO_CONTRAST -> autoContrast(img);
            case EQUALIZE -> new Transforms.Equalize().apply(img, null);
        };
    }

    private static Mat affine(Mat img, double[] m23) {
        Mat m = new Mat(2, 3, CV_64F);
        DoubleIndexer idx = m.createIndexer();
        for (int i = 0; i < 6; i++) idx.put(i / 3, i % 3, m23[i]);
        idx.release();
        return warp(img, m);
    }

    private static Mat warp(Mat img, Mat m) {
        Mat out = new Mat();
        warpAffine(
                img, out, m, new Size(img.cols(), img.rows()), INTER_NEAREST, BORDER_CONSTANT, new Scalar(0, 0, 0, 0));
        return out;
    }

    /** {@code f·img + (1−f)·other}, saturated to 0..255 (torchvision's {@code _blend}). */
    private static Mat addWeightedTo(Mat img, double f, Mat other) {
        Mat out = new Mat();
        addWeighted(img, f, other, 1 - f, 0, out);
        return out;
    }

    private static Mat gray3(Mat img) {
        Mat gray = new Mat(), out = new Mat();
        cvtColor(img, gray, COLOR_BGR2GRAY);
        cvtColor(gray, out, COLOR_GRAY2BGR);
        return out;
    }

    /** PIL's SMOOTH filter (1 1 1 / 1 5 1 / 1 1 1, over 13) inside, the original pixels on the border. */
    private static Mat smoothed(Mat img) {
        if (img.cols() < 3 || img.rows() < 3) return img;
        Mat kernel = new Mat(3, 3, opencv_core.CV_32F);
        FloatIndexer k = kernel.createIndexer();
        for (int y = 0; y < 3; y++) for (int x = 0; x < 3; x++) k.put(y, x, (x == 1 && y == 1 ? 5f : 1f) / 13f);
        k.release();
        Mat blurred = new Mat();
        filter2D(img, blurred, -1, kernel);
        Mat out = img.clone();
        Rect inner = new Rect(1, 1, img.cols() - 2, img.rows() - 2);
        new Mat(blurred, inner).copyTo(new Mat(out, inner));
        return out;
    }

    private static Mat lut(Mat img, byte[] table) {
        Mat lut = new Mat(1, 256, CV_8UC1);
        lut.data().put(table);
        Mat out = new Mat();
        LUT(img, lut, out);
        return out;
    }

    /** Each channel stretched so its darkest pixel becomes 0 and its brightest 255 (flat channels kept). */
    private static Mat autoContrast(Mat img) {
        MatVector channels = new MatVector();
        split(img, channels);
        byte[] table = new byte[256 * 3];
        for (int c = 0; c < 3; c++) {
            DoublePointer lo = new DoublePointer(1), hi = new DoublePointer(1);
            minMaxLoc(channels.get(c), lo, hi, null, null, null);
            double min = lo.get(), max = hi.get();
            for (int i = 0; i < 256; i++) {
                double v = max > min ? (i - min) * 255.0 / (max - min) : i;
                table[i * 3 + c] = (byte) Math.max(0, Math.min(255, (int) Math.floor(v)));
            }
        }
        Mat lut = new Mat(1, 256, CV_8UC3);
        lut.data().put(table);
        Mat out = new Mat();
        LUT(img, lut, out);
        return out;
    }
}
