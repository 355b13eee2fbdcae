package convnet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * 1×1 convolutions and convolutions whose kernel covers the whole input are computed as matrix products ({@link
 * Layers#conv2d}) because oneDNN's kernels for them kill the JVM or return wrong sums on some AVX-512 CPUs. The
 * reference here is libtorch's slow convolution ({@code thnn_conv2d}: im2col and a GEMM, no oneDNN), so the comparison
 * runs on every machine, the failing ones included.
 */
class ConvolutionPathsTest {
    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    @ParameterizedTest(name = "{0}→{1} {2}×{2} stride {3} padding {4} bias {5} channels-last {6} on {7}×{8}, batch {9}")
    @CsvSource({
        "64, 256, 1, 1, 0, false, true, 13, 11, 4",
        "64, 256, 1, 1, 0, false, false, 13, 11, 4",
        "256, 128, 1, 2, 0, false, true, 13, 11, 4",
        "256, 128, 1, 2, 0, false, false, 13, 11, 4",
        "32, 48, 1, 1, 0, true, true, 13, 11, 4",
        "32, 48, 1, 1, 0, true, false, 13, 11, 4",
        "16, 8, 1, 2, 1, true, true, 13, 11, 4",
        "16, 8, 1, 3, 0, true, false, 13, 11, 4",
        "3, 5, 1, 2, 0, false, true, 13, 11, 4",
        // a kernel over the whole input: oneDNN's inner product was 2–90 % off at these shapes
        "512, 64, 7, 1, 0, true, false, 7, 7, 2",
        "512, 64, 7, 1, 0, true, true, 7, 7, 4",
        "512, 64, 7, 1, 0, false, true, 7, 7, 2",
        "64, 10, 4, 1, 0, true, false, 4, 4, 3"
    })
    void equalsTheConvolutionInOutputAndGradients(
            int in,
            int out,
            int kernel,
            int stride,
            int padding,
            boolean bias,
            boolean channelsLast,
            int height,
            int width,
            int batch) {
        Scoped.run(() -> {
            torch.manual_seed(in * 31L + out + stride);
            Layers.Conv2d conv = new Layers.Conv2d(in, out, kernel, stride, padding, bias);
            try (NoGradGuard g = new NoGradGuard()) {
                conv.weight.copy_(torch.randn(out, in, kernel, kernel).mul(new Scalar(0.1 / kernel)));
                if (bias) conv.bias.copy_(torch.randn(out));
            }
            if (channelsLast) conv.weight.set_data(conv.weight.contiguous(torch.MemoryFormat.ChannelsLast));
            Tensor x = torch.randn(batch, in, height, width);
            if (channelsLast) x = x.contiguous(torch.MemoryFormat.ChannelsLast);
            x.set_requires_grad(true);
            // the reference: leaves of their own holding the same values
            Tensor xr = x.detach().contiguous().clone(),
                    wr = conv.weight.detach().contiguous().clone();
            Tensor br = bias ? conv.bias.detach().clone() : null;
            xr.set_requires_grad(true);
            wr.set_requires_grad(true);
            if (bias) br.set_requires_grad(true);

            Tensor y = conv.forward(x);
            Tensor yr = torch.thnn_conv2d(
                    xr.contiguous(),
                    wr.contiguous(),
                    new long[] {kernel, kernel},
                    bias ? new TensorOptional(br) : new TensorOptional(),
                    new long[] {stride, stride},
                    padding,
                    padding);
            assertArrayEquals(Tensors.shape(yr), Tensors.shape(y));
            assertClose(yr, y, 1e-5, "output");
            if (channelsLast && Tensors.shape(y)[2] * Tensors.shape(y)[3] > 1)
                assertTrue(y.is_contiguous(torch.MemoryFormat.ChannelsLast), "channels-last in, channels-last out");

            Tensor upstream = torch.randn_like(yr);
            y.mul(upstream).sum().backward();
            yr.mul(upstream).sum().backward();
            assertClose(xr.grad(), x.grad(), 1e-5, "input gradient");
            assertClose(wr.grad(), conv.weight.grad(), 1e-5, "weight gradient");
            if (bias) assertClose(br.grad(), conv.bias.grad(), 1e-5, "bias gradient");
        });
    }

    @Test
    void underBf16AutocastItComputesInBf16AsTheConvolutionWould() {
        Scoped.run(() -> {
            torch.manual_seed(7);
            Layers.Conv2d conv = new Layers.Conv2d(64, 128, 1, 2, 0, true);
            try (NoGradGuard g = new NoGradGuard()) {
                conv.weight.copy_(torch.randn(128, 64, 1, 1).mul(new Scalar(0.1)));
                conv.bias.copy_(torch.randn(128));
            }
            for (boolean channelsLast : new boolean[] {true, false}) {
                Tensor x0 = torch.randn(2, 64, 16, 16);
                Tensor x = channelsLast ? x0.contiguous(torch.MemoryFormat.ChannelsLast) : x0;
                x.set_requires_grad(true);
                Tensor y = Precision.BF16_MIXED.forward(() -> conv.forward(x));
                assertEquals(
                        torch.ScalarType.BFloat16.value,
                        y.scalar_type().intern().value,
                        "a bf16 product, as conv2d gives under autocast");
                Tensor ref = torch.thnn_conv2d(
                        x0,
                        conv.weight.detach(),
                        new long[] {1, 1},
                        new TensorOptional(conv.bias.detach()),
                        new long[] {2, 2},
                        0,
                        0);
                // bf16 keeps 8 significant bits: a few parts in a thousand of the output's scale
                assertClose(ref, y, 2e-2, "bf16 output");
                y.to(torch.ScalarType.Float).sum().backward();
                assertEquals(
                        torch.ScalarType.Float.value, x.grad().scalar_type().intern().value);
                assertEquals(
                        torch.ScalarType.Float.value,
                        conv.weight.grad().scalar_type().intern().value);
                conv.weight.grad().zero_();
                conv.bias.grad().zero_();
            }
        });
    }

    /**
     * Within {@code tolerance} of the values' scale (their largest magnitude, at least 1): two GEMMs that sum in a
     * different order differ by float32 rounding of the running sums, which grows with the sums' size (a weight
     * gradient here sums 572 products and reaches about 30, so its last bits are 2e-6 apart).
     */
    private static void assertClose(Tensor expected, Tensor actual, double tolerance, String what) {
        assertArrayEquals(Tensors.shape(expected), Tensors.shape(actual), what + " shape");
        float[] e = Tensors.toFloats(expected), a = Tensors.toFloats(actual);
        double worst = 0, scale = 1;
        for (int i = 0; i < e.length; i++) {
            worst = Math.max(worst, Math.abs(e[i] - a[i]));
            scale = Math.max(scale, Math.abs(e[i]));
        }
        assertTrue(
                worst <= tolerance * scale,
                what + ": largest difference " + worst + " > " + tolerance + " × scale " + scale);
    }
}
