package convnet.eval;

import convnet.data.Images;
import convnet.data.transform.Ops;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.Net;
import convnet.train.Precision;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
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
    public float[] posteriors(Net net, DenseEvaluator denseEval, Mat bgr, int cropSize, float[] mean, float[] std, Precision precision) {
        return posteriors(net, denseEval, List.of(bgr), cropSize, mean, std, precision)[0];
    }

    /** The most views run through the network in one batch. */
    static final int MAX_BATCH = 64;

    /**
     * Averaged posteriors for several decoded BGR images. The views of all of them go through the
     * network together in batches of up to {@value #MAX_BATCH} (crops share the training size; dense
     * views batch per image and scale, with their mirror images). Runs in its own scope.
     */
    public float[][] posteriors(Net net, DenseEvaluator denseEval, List<Mat> images, int cropSize, float[] mean, float[] std, Precision precision) {
        List<Integer> qs = scales.isEmpty() ? List.of(cropSize) : scales;
        return Scoped.call(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                int n = images.size();
                float[][] sums = new float[n][];
                int[] views = new int[n];
                // views of the training size from all images, batched; dense views (image-sized) one image and scale at a time
                List<Mat> fixed = new ArrayList<>();
                List<Integer> owner = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    for (int q : qs) {
                        Mat scaled = new Ops.Resize(q, 0, 0).apply(images.get(i), null);
                        if (dense) {
                            add(sums, views, i, forward(net, denseEval, List.of(scaled), mean, std, precision));
                        } else if (grid > 0) {
                            int w = scaled.cols(), h = scaled.rows(), s = Math.min(cropSize, Math.min(w, h));
                            for (int gy = 0; gy < grid; gy++) {
                                for (int gx = 0; gx < grid; gx++) {
                                    int x = grid == 1 ? (w - s) / 2 : (w - s) * gx / (grid - 1), y = grid == 1 ? (h - s) / 2 : (h - s) * gy / (grid - 1);
                                    fixed.add(Ops.resizeTo(new Mat(scaled, new org.bytedeco.opencv.opencv_core.Rect(x, y, s, s)), cropSize, cropSize));
                                    owner.add(i);
                                }
                            }
                        } else {
                            fixed.add(new Ops.CenterCrop(cropSize).apply(scaled, null));
                            owner.add(i);
                        }
                    }
                }
                int per = flip ? MAX_BATCH / 2 : MAX_BATCH;
                for (int from = 0; from < fixed.size(); from += per) {
                    int to = Math.min(fixed.size(), from + per);
                    float[][] p = forward(net, null, fixed.subList(from, to), mean, std, precision);
                    for (int v = from; v < to; v++) {
                        add(sums, views, owner.get(v), new float[][] {p[v - from]});
                        if (flip) add(sums, views, owner.get(v), new float[][] {p[v - from + (to - from)]});
                    }
                }
                for (int i = 0; i < n; i++) for (int k = 0; k < sums[i].length; k++) sums[i][k] /= views[i];
                return sums;
            }
        });
    }

    private static void add(float[][] sums, int[] views, int image, float[][] probs) {
        for (float[] p : probs) {
            if (sums[image] == null) sums[image] = new float[p.length];
            for (int k = 0; k < p.length; k++) sums[image][k] += p[k];
            views[image]++;
        }
    }

    /** Softmax posteriors of equally sized views (then their mirror images, when flipping), in one batch. */
    private float[][] forward(Net net, DenseEvaluator denseEval, List<Mat> crops, float[] mean, float[] std, Precision precision) {
        int h = crops.get(0).rows(), w = crops.get(0).cols(), plane = 3 * h * w;
        float[] px = new float[crops.size() * plane];
        for (int i = 0; i < crops.size(); i++) Images.toChw(crops.get(i), mean, std, px, i * plane);
        Tensor x = Tensors.fromFloats(px, crops.size(), 3, h, w);
        Tensor in = flip ? torch.cat(new org.bytedeco.pytorch.TensorVector(x, torch.flip(x, 3)), 0) : x;
        Tensor logits = precision.forward(() -> denseEval != null ? denseEval.logits(in) : net.forward(in)).to(torch.ScalarType.Float);
        float[] p = Tensors.toFloats(torch.softmax(logits, 1));
        int c = p.length / (int) in.size(0);
        float[][] out = new float[(int) in.size(0)][c];
        for (int i = 0; i < out.length; i++) System.arraycopy(p, i * c, out[i], 0, c);
        return out;
    }
}
