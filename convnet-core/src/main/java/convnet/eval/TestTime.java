package convnet.eval;

import convnet.data.Images;
import convnet.data.transform.Transforms;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.Net;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The VGG paper's test-time methods (§3.2, §4.2–4.3), combinable: for each scale Q the image's
 * shorter side is resized to Q, then either evaluated densely (whole image), or cut into a
 * {@code grid × grid} set of crops of the training size, or center-cropped; optionally also
 * mirrored. The softmax posteriors of all views are averaged.
 */
public record TestTime(List<Integer> scales, boolean dense, int grid, boolean flip) {

    public static TestTime plain() {
        return new TestTime(List.of(), false, 0, false);
    }

    public boolean isPlain() {
        return scales.isEmpty() && !dense && grid == 0 && !flip;
    }

    public String describe() {
        if (isPlain()) return "single view (eval transforms)";
        List<String> parts = new ArrayList<>();
        parts.add(dense ? "dense" : grid > 0 ? grid + "×" + grid + " crops" : "center crop");
        if (!scales.isEmpty()) parts.add("scales " + scales);
        if (flip) parts.add("flip");
        return String.join(", ", parts);
    }

    /** Averaged posteriors for one decoded BGR image. Runs in its own scope. */
    public float[] posteriors(
            Net net, DenseEvaluator denseEval, Mat bgr, int cropSize, float[] mean, float[] std, Precision precision) {
        return posteriors(net, denseEval, List.of(bgr), cropSize, mean, std, precision)[0];
    }

    /** The most views run through the network in one batch. */
    static final int MAX_BATCH = 64;

    /**
     * Averaged posteriors for several decoded BGR images. Views of the training size (center or grid
     * crops) from all of them go through the network together in batches of up to {@value #MAX_BATCH},
     * converted to pixels as they are cut, so memory holds one batch and one image's crops at a time;
     * dense views (image-sized) run per image and scale, with their mirror images. Runs in its own scope.
     */
    public float[][] posteriors(
            Net net,
            DenseEvaluator denseEval,
            List<Mat> images,
            int cropSize,
            float[] mean,
            float[] std,
            Precision precision) {
        List<Integer> qs = scales.isEmpty() ? List.of(cropSize) : scales;
        return Scoped.call(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                int n = images.size();
                float[][] sums = new float[n][];
                int[] views = new int[n];
                Pending pending = new Pending(net, cropSize, precision, sums, views);
                for (int i = 0; i < n; i++) {
                    try (PointerScope perImage = new PointerScope()) { // this image's resized copies and crops
                        for (int q : qs) {
                            Mat scaled = new Transforms.Resize(q, 0, 0).apply(images.get(i), null);
                            if (dense) {
                                int h = scaled.rows(), w = scaled.cols();
                                float[] px = new float[3 * h * w];
                                Images.toChw(scaled, mean, std, px, 0);
                                for (float[] row : forward(net, denseEval, px, 1, h, w, precision))
                                    add(sums, views, i, row);
                                continue;
                            }
                            for (Mat c : crops(scaled, cropSize)) pending.add(c, mean, std, i);
                        }
                    }
                }
                pending.flush();
                for (int i = 0; i < n; i++) for (int k = 0; k < sums[i].length; k++) sums[i][k] /= views[i];
                return sums;
            }
        });
    }

    /** The views of the training size cut from one scaled image: a {@code grid × grid} set, or its center. */
    private List<Mat> crops(Mat scaled, int cropSize) {
        List<Mat> crops = new ArrayList<>();
        if (grid <= 0) {
            crops.add(new Transforms.CenterCrop(cropSize).apply(scaled, null));
            return crops;
        }
        int w = scaled.cols(), h = scaled.rows(), s = Math.min(cropSize, Math.min(w, h));
        for (int gy = 0; gy < grid; gy++) {
            for (int gx = 0; gx < grid; gx++) {
                int x = grid == 1 ? (w - s) / 2 : (w - s) * gx / (grid - 1),
                        y = grid == 1 ? (h - s) / 2 : (h - s) * gy / (grid - 1);
                crops.add(Transforms.resizeTo(new Mat(scaled, new Rect(x, y, s, s)), cropSize, cropSize));
            }
        }
        return crops;
    }

    /**
     * Crops of the training size waiting, as pixels, for a batch of up to {@value #MAX_BATCH} views (half that
     * when each is also mirrored); each posterior is added to its image's sum.
     */
    private final class Pending {
        private final Net net;
        private final int size;
        private final Precision precision;
        private final float[][] sums;
        private final int[] views;
        private final int plane;
        private final float[] batch;
        private final int[] owner;
        private int count;

        Pending(Net net, int size, Precision precision, float[][] sums, int[] views) {
            this.net = net;
            this.size = size;
            this.precision = precision;
            this.sums = sums;
            this.views = views;
            int per = flip ? MAX_BATCH / 2 : MAX_BATCH;
            this.plane = 3 * size * size;
            this.batch = new float[per * plane];
            this.owner = new int[per];
        }

        /** Adds {@code crop} of image {@code image}, running the batch when it is full. */
        void add(Mat crop, float[] mean, float[] std, int image) {
            Images.toChw(crop, mean, std, batch, count * plane);
            owner[count++] = image;
            if (count == owner.length) flush();
        }

        /** Runs the pending crops (and their mirrors), if any, and adds each posterior to its image's sum. */
        void flush() {
            if (count == 0) return;
            float[][] p = forward(net, null, batch, count, size, size, precision);
            for (int v = 0; v < count; v++) {
                TestTime.add(sums, views, owner[v], p[v]);
                if (flip) TestTime.add(sums, views, owner[v], p[v + count]);
            }
            count = 0;
        }
    }

    private static void add(float[][] sums, int[] views, int image, float[] probs) {
        if (sums[image] == null) sums[image] = new float[probs.length];
        for (int k = 0; k < probs.length; k++) sums[image][k] += probs[k];
        views[image]++;
    }

    /** Softmax posteriors of {@code n} normalised CHW views of {@code h × w} (then of their mirror images, when flipping), in one batch. */
    private float[][] forward(Net net, DenseEvaluator denseEval, float[] px, int n, int h, int w, Precision precision) {
        int values = n * 3 * h * w; // a last, partly filled batch uses the front of the buffer
        Tensor x = Tensors.fromFloats(px.length == values ? px : Arrays.copyOf(px, values), n, 3, h, w);
        Tensor in = flip ? torch.cat(new TensorVector(x, torch.flip(x, 3)), 0) : x;
        Tensor logits = precision
                .forward(() -> denseEval != null ? denseEval.logits(in) : net.forward(in))
                .to(torch.ScalarType.Float);
        float[] p = Tensors.toFloats(torch.softmax(logits, 1));
        int rows = (int) in.size(0), c = p.length / rows;
        float[][] out = new float[rows][c];
        for (int i = 0; i < rows; i++) System.arraycopy(p, i * c, out[i], 0, c);
        return out;
    }
}
