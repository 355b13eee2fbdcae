package convnet.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.NeedsSharedData;
import convnet.Npy;
import convnet.TestData;
import convnet.bundle.ModelBundle;
import convnet.data.Images;
import convnet.data.transform.Pipeline;
import convnet.data.transform.Transforms;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.ModelSpec;
import convnet.model.Models;
import convnet.model.Net;
import convnet.model.Vgg;
import convnet.weights.Weights;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.MatVector;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.pytorch.NoGradGuard;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Dense evaluation, flips and the other test-time methods, with real (torchvision-format) weights. */
@NeedsSharedData
class TestTimeTest {
    static Net vgg;

    @BeforeAll
    static void setUp() {
        Engine.start(2);
        vgg = new ModelSpec(
                        "vgg11_bn",
                        new Vgg.Options("A", true, false, "relu", 0, "fixed", new int[] {64, 64}, 0.5),
                        5,
                        "kaiming",
                        "normal")
                .build(0);
        Weights.load(TestData.SHARED.resolve("fixtures/weights/vgg11_bn-head64.pth"), vgg, false);
        vgg.eval();
    }

    @Test
    void convertedNetworkScoresLikeTheOriginalAt224() throws Exception {
        Npy input = Npy.read(TestData.SHARED.resolve("fixtures/weights/input.npy"));
        DenseEvaluator dense = new DenseEvaluator(vgg);
        assertTrue(dense.converted());
        float[][] out = Scoped.call(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                var x = Tensors.fromFloats(input.data, input.shape);
                return new float[][] {
                    Tensors.toFloats(vgg.forward(x)),
                    Tensors.toFloats(dense.logits(x)),
                    Tensors.toFloats(dense.scoreMap(x))
                };
            }
        });
        double diff = 0;
        for (int i = 0; i < out[0].length; i++) diff = Math.max(diff, Math.abs(out[0][i] - out[1][i]));
        assertTrue(diff < 1e-4, "max |diff| " + diff);
        assertEquals(2 * 5, out[2].length, "a 1×1 score map at 224×224");
    }

    @Test
    void largerInputGivesAScoreMapOfTheExpectedSize() {
        DenseEvaluator dense = new DenseEvaluator(vgg);
        long[] shape = Scoped.call(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                return Tensors.shape(dense.scoreMap(org.bytedeco.pytorch.global.torch.randn(1, 3, 256, 384)));
            }
        });
        // features: 256/32 = 8, 384/32 = 12; a 7×7 convolution leaves 2 × 6
        assertArrayEquals(new long[] {1, 5, 2, 6}, shape);
        assertFalse(
                new DenseEvaluator(Models.create("preact_resnet20_cifar", 5)).converted(),
                "a GAP network is already fully convolutional");
    }

    @Test
    void flipAveragingOfASymmetricImageEqualsThePlainScore() {
        try (PointerScope s = new PointerScope()) {
            Mat photo = new Transforms.Resize(0, 224, 224)
                    .apply(Images.decode(TestData.datasets().resolve("caltech101-10/yin_yang/image_0001.jpg")), null);
            Mat left = new Mat(photo, new Rect(0, 0, 112, 224)).clone();
            Mat symmetric = new Mat();
            opencv_core.hconcat(new MatVector(left, new Transforms.HorizontalFlip().apply(left, null)), symmetric);
            float[] mean = {0.5f, 0.5f, 0.5f}, std = {0.25f, 0.25f, 0.25f};
            DenseEvaluator dense = new DenseEvaluator(vgg);
            float[] plain = new TestTime(List.of(), false, 0, false)
                    .posteriors(vgg, dense, symmetric, 224, mean, std, Precision.FP32);
            float[] flipped = new TestTime(List.of(), false, 0, true)
                    .posteriors(vgg, dense, symmetric, 224, mean, std, Precision.FP32);
            assertArrayEquals(plain, flipped, 1e-5f);
            // and on an ordinary photo the flip does change the answer
            float[] p = new TestTime(List.of(), false, 0, false)
                    .posteriors(vgg, dense, photo, 224, mean, std, Precision.FP32);
            float[] f = new TestTime(List.of(), false, 0, true)
                    .posteriors(vgg, dense, photo, 224, mean, std, Precision.FP32);
            assertFalse(Arrays.equals(p, f));
            // multi-scale dense and multi-crop views give proper distributions
            for (TestTime tt : List.of(
                    new TestTime(List.of(224, 256, 288), true, 0, true), new TestTime(List.of(256), false, 3, true))) {
                float sum = 0;
                for (float v : tt.posteriors(vgg, dense, photo, 224, mean, std, Precision.FP32)) sum += v;
                assertEquals(1f, sum, 1e-4f, tt.describe());
            }
        }
    }
    /** --flip alone is the eval transforms' view (resize to S, center crop) and its mirror, not a view at the crop size. */
    @Test
    void flipAloneUsesTheTrainingScaleOfTheEvalTransforms() {
        Pipeline eval = new Pipeline(List.of(new Transforms.Resize(256, 0, 0), new Transforms.CenterCrop(224)), 224);
        ModelBundle b = new ModelBundle(vgg.spec(), List.of("a", "b", "c", "d", "e"), 224, null, null, eval);
        assertEquals(
                List.of(256), Evaluation.method(b, null, false, false, 0, true).scales());
        assertEquals(
                List.of(), Evaluation.method(b, null, false, false, 0, false).scales(), "plain stays plain");
        assertTrue(Evaluation.method(b, null, false, false, 0, false).isPlain());
    }
}
