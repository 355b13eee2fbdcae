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

    private static Tensor walk(Sequential seq, String prefix, Tensor x, List<Row> rows) {
        for (Sequential.Entry e : seq.entries()) {
            String name = prefix.isEmpty() ? e.name() : prefix + "." + e.name();
            if (e.layer() instanceof Sequential inner) {
                x = walk(inner, name, x, rows);
            } else {
                x = e.layer().forward(x);
                long params = e.layer() instanceof Module m ? Net.parameterCount(m) : 0;
                rows.add(new Row(name, e.layer().describe(), Tensors.shape(x), params));
            }
        }
        return x;
    }

    private static String shape(Row r) {
        return Arrays.toString(r.outputShape).replace("[1, ", "[-1, ");
    }

    /** Sum of all output sizes (values), the basis of the activation-memory estimate. */
    public long activationValues() {
        long n = 0;
        for (Row r : rows) n += Arrays.stream(r.outputShape).reduce(1, (a, b) -> a * b);
        return n;
    }

    public String format() {
        // columns as wide as their widest entry, so that long layer names do not push the counts out of line
        int nameW = "Layer".length(),
                typeW = "Type".length(),
                shapeW = "Output shape".length(),
                countW = "Param #".length();
        for (Row r : rows) {
            nameW = Math.max(nameW, r.name.length());
            typeW = Math.max(typeW, r.layer.length());
            shapeW = Math.max(shapeW, shape(r).length());
            countW = Math.max(countW, String.format("%,d", r.params).length());
        }
        String rowFormat = "%-" + nameW + "s  %-" + typeW + "s  %-" + shapeW + "s  %" + countW + "s%n";
        String line = "-".repeat(nameW + typeW + shapeW + countW + 6) + "\n";
        StringBuilder sb = new StringBuilder();
        sb.append(line)
                .append(String.format(rowFormat, "Layer", "Type", "Output shape", "Param #"))
                .append(line.replace('-', '='));
        for (Row r : rows)
            sb.append(String.format(rowFormat, r.name, r.layer, shape(r), String.format("%,d", r.params)));
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
