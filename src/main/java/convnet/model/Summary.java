package convnet.model;

import convnet.engine.Scoped;
import convnet.engine.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** A layer-by-layer table of output shapes and parameter counts, as torchsummary prints. */
public final class Summary {
    /** One row: the layer's path, what it is, its output shape (batch first) and its parameter count. */
    public record Row(String name, String layer, long[] outputShape, long params) {}

    public final List<Row> rows;
    public final long totalParams, trainableParams;
    public final long[] inputShape;

    private Summary(List<Row> rows, long total, long trainable, long[] inputShape) {
        this.rows = rows;
        this.totalParams = total;
        this.trainableParams = trainable;
        this.inputShape = inputShape;
    }

    /** Runs one zero image of shape {@code [channels, height, width]} through the net in eval mode. */
    public static Summary of(Net net, int channels, int height, int width) {
        List<Row> rows = new ArrayList<>();
        boolean wasTraining = net.is_training();
        net.eval();
        try {
            Scoped.run(() -> {
                try (NoGradGuard g = new NoGradGuard()) {
                    walk(net, "", torch.zeros(1, channels, height, width), rows);
                }
            });
        } finally {
            net.train(wasTraining);
        }
        return new Summary(
                rows, net.parameterCount(), net.trainableParameterCount(), new long[] {1, channels, height, width});
    }

    private static Tensor walk(Seq seq, String prefix, Tensor x, List<Row> rows) {
        for (Seq.Entry e : seq.entries()) {
            String name = prefix.isEmpty() ? e.name() : prefix + "." + e.name();
            if (e.layer() instanceof Seq inner) {
                x = walk(inner, name, x, rows);
            } else {
                x = e.layer().forward(x);
                long params = e.layer() instanceof Module m ? Net.parameterCount(m) : 0;
                rows.add(new Row(name, e.layer().describe(), Tensors.shape(x), params));
            }
        }
        return x;
    }

    /** Sum of all output sizes (values), the basis of the activation-memory estimate. */
    public long activationValues() {
        long n = 0;
        for (Row r : rows) n += Arrays.stream(r.outputShape).reduce(1, (a, b) -> a * b);
        return n;
    }

    public String format() {
        StringBuilder sb = new StringBuilder();
        String line = "-".repeat(86) + "\n";
        sb.append(line)
                .append(String.format("%-26s %-32s %-16s %10s%n", "Layer", "Type", "Output shape", "Param #"))
                .append(line.replace('-', '='));
        for (Row r : rows) {
            String shape = Arrays.toString(r.outputShape).replace("[1, ", "[-1, ");
            sb.append(String.format("%-26s %-32s %-16s %,10d%n", r.name, r.layer, shape, r.params));
        }
        sb.append(line.replace('-', '='));
        sb.append(String.format(
                "Total params: %,d%nTrainable params: %,d%nNon-trainable params: %,d%n",
                totalParams, trainableParams, totalParams - trainableParams));
        sb.append(line);
        double mb = 1024.0 * 1024.0;
        double input = Arrays.stream(inputShape).reduce(1, (a, b) -> a * b) * 4 / mb;
        double activations = activationValues() * 2 * 4 / mb; // forward + backward, float32
        double params = totalParams * 4 / mb;
        sb.append(String.format(
                "Input size (MB): %.2f%nForward/backward pass size (MB): %.2f%nParams size (MB): %.2f%nEstimated total size (MB): %.2f%n",
                input, activations, params, input + activations + params));
        sb.append(line);
        return sb.toString();
    }
}
