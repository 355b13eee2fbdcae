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
        List<Integer> qs = scales.isEmpty() ? List.of(cropSize) : scales;
        return Scoped.call(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                Tensor sum = null;
                int views = 0;
                for (int q : qs) {
                    Mat scaled = new Ops.Resize(q, 0, 0).apply(bgr, null);
                    List<Mat> crops = new ArrayList<>();
                    if (dense) {
                        crops.add(scaled);
                    } else if (grid > 0) {
                        int w = scaled.cols(), h = scaled.rows(), s = Math.min(cropSize, Math.min(w, h));
                        for (int gy = 0; gy < grid; gy++) {
                            for (int gx = 0; gx < grid; gx++) {
                                int x = grid == 1 ? (w - s) / 2 : (w - s) * gx / (grid - 1), y = grid == 1 ? (h - s) / 2 : (h - s) * gy / (grid - 1);
                                crops.add(Ops.resizeTo(new Mat(scaled, new org.bytedeco.opencv.opencv_core.Rect(x, y, s, s)), cropSize, cropSize));
                            }
                        }
                    } else {
                        crops.add(new Ops.CenterCrop(cropSize).apply(scaled, null));
                    }
                    for (Mat c : crops) {
                        float[] px = new float[3 * c.rows() * c.cols()];
                        Images.toChw(c, mean, std, px, 0);
                        Tensor x = Tensors.fromFloats(px, 1, 3, c.rows(), c.cols());
                        List<Tensor> inputs = new ArrayList<>(List.of(x));
                        if (flip) inputs.add(torch.flip(x, 3));
                        for (Tensor in : inputs) {
                            Tensor logits = precision.forward(() -> dense ? denseEval.logits(in) : net.forward(in)).to(torch.ScalarType.Float);
                            Tensor p = torch.softmax(logits, 1);
                            sum = sum == null ? p : sum.add(p);
                            views++;
                        }
                    }
                }
                return Tensors.toFloats(sum.div(new org.bytedeco.pytorch.Scalar((double) views)));
            }
        });
    }
}
