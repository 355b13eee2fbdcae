package convnet.bench;

import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.model.Layers;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Forward + backward time of the 1×1 convolutions of a bottleneck ResNet, as convnet computes them (a matrix product,
 * {@code Layers.Conv2d}) and as libtorch's {@code conv2d} would (oneDNN). Not a test: run by
 * {@code scripts/pointwise_bench.sh}, which sets {@code ONEDNN_MAX_CPU_ISA} per run, because oneDNN's own 1×1 kernel
 * dies with SIGFPE on some AVX-512 CPUs ({@code args: conv} then crashes the JVM; that is the point of the path).
 * Arguments: {@code matmul|conv} {@code 32|bf16-mixed} [batch] [size].
 */
public final class PointwiseBench {
    public static void main(String[] args) {
        Engine.start(0);
        boolean conv = args[0].equals("conv");
        Precision precision = Precision.of(args[1]);
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        int size = args.length > 3 ? Integer.parseInt(args[3]) : 56;
        // the 1×1 layers of preact_resnet50's first two stages (in, out, stride) at a 224 px input's 56 px stage
        int[][] shapes = {{64, 64, 1}, {64, 256, 1}, {256, 64, 1}, {256, 128, 1}, {128, 512, 1}, {256, 512, 2}};
        double total = 0;
        StringBuilder row = new StringBuilder();
        for (int[] s : shapes) {
            Layers.Conv2d layer = new Layers.Conv2d(s[0], s[1], 1, s[2], 0, false);
            layer.weight.set_data(torch.randn(s[1], s[0], 1, 1).contiguous(torch.MemoryFormat.ChannelsLast));
            int sz = s[1] == 512 && s[0] == 128 ? size / 2 : size;
            double best = Double.MAX_VALUE;
            for (int rep = 0; rep < 8; rep++) {
                long t0 = System.nanoTime();
                Scoped.run(() -> {
                    Tensor x = torch.randn(batch, s[0], sz, sz).contiguous(torch.MemoryFormat.ChannelsLast);
                    x.set_requires_grad(true);
                    Tensor y = precision.forward(() -> conv
                            ? torch.conv2d(
                                    x,
                                    layer.weight,
                                    new TensorOptional(),
                                    new long[] {s[2], s[2]},
                                    new long[] {0, 0},
                                    new long[] {1, 1},
                                    1)
                            : layer.forward(x));
                    y.to(torch.ScalarType.Float).sum().backward();
                });
                double ms = (System.nanoTime() - t0) / 1e6;
                if (rep >= 2) best = Math.min(best, ms);
            }
            total += best;
            row.append(String.format(" %d→%d/%d: %.1f", s[0], s[1], s[2], best));
        }
        System.out.printf(
                "%s %s batch %d %dpx ONEDNN_MAX_CPU_ISA=%s: total %.1f ms (best of 6 per layer, forward+backward)%s%n",
                args[0],
                precision.word,
                batch,
                size,
                System.getenv().getOrDefault("ONEDNN_MAX_CPU_ISA", "-"),
                total,
                row);
    }
}
