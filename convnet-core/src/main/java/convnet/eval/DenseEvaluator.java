package convnet.eval;

import convnet.model.Layer;
import convnet.model.Layers;
import convnet.model.Net;
import convnet.model.Sequential;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;

/**
 * Dense evaluation (Simonyan & Zisserman 2015, §3.2): the fully-connected layers become convolutions
 * — the first a {@code k×k} convolution over the last feature map (k = 7 for torchvision's head), the
 * others 1×1 — so the network runs on a whole, uncropped image of any size and yields a class score
 * map, which is averaged spatially. Networks whose head is already a global average pool are fully
 * convolutional as they are.
 */
public final class DenseEvaluator {
    private final Net net;
    private final boolean converted;
    private final List<Layer> head = new ArrayList<>();

    public DenseEvaluator(Net net) {
        this.net = net;
        Sequential.Entry pool = net.entries().stream()
                .filter(e -> e.name().equals("avgpool"))
                .findFirst()
                .orElse(null);
        Sequential.Entry classifier = net.entries().stream()
                .filter(e -> e.name().equals("classifier"))
                .findFirst()
                .orElse(null);
        boolean fixed =
                pool != null && classifier != null && pool.layer() instanceof Layers.AdaptiveAvgPool a && a.size() > 1;
        this.converted = fixed;
        if (!fixed) return;
        int k = ((Layers.AdaptiveAvgPool) pool.layer()).size();
        boolean first = true;
        for (Sequential.Entry e : ((Sequential) classifier.layer()).entries()) {
            Layer l = e.layer();
            if (l instanceof Layers.Linear lin) {
                int kernel = first ? k : 1;
                int in = (int) (lin.in / ((long) kernel * kernel));
                Tensor w = lin.weight.reshape(lin.out, in, kernel, kernel);
                Tensor b = lin.bias;
                head.add(x -> Layers.conv2d(x, w, b, 1, 0));
                first = false;
            } else if (l.describe().startsWith("Dropout")) {
                continue; // evaluation: dropout is the identity
            } else {
                head.add(l); // ReLU / PReLU act per channel on maps as on vectors
            }
        }
    }

    /** True if the head was converted (a fixed-size head); false if the network was already fully convolutional. */
    public boolean converted() {
        return converted;
    }

    /** The class score map {@code [N, C, h, w]} for a batch of whole images. Eval mode, no grad, inside a scope. */
    public Tensor scoreMap(Tensor x) {
        if (!converted) {
            Tensor logits = net.forward(x);
            return logits.reshape(logits.size(0), logits.size(1), 1, 1);
        }
        for (Sequential.Entry e : net.entries()) {
            if (e.name().equals("avgpool")) break;
            x = e.layer().forward(x);
        }
        for (Layer l : head) x = l.forward(x);
        return x;
    }

    /** Logits averaged over the score map: {@code [N, C]}. */
    public Tensor logits(Tensor x) {
        return scoreMap(x).mean(new long[] {2, 3}, false, new ScalarTypeOptional());
    }
}
