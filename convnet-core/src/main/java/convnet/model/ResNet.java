package convnet.model;

import convnet.config.ConfigNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * torchvision's ResNet (v1, He et al. 2015, post-activation): a 7×7/2 convolution, BatchNorm, ReLU and a 3×3/2 max
 * pool, then four stages of basic (two 3×3 convolutions) or bottleneck (1×1, 3×3, 1×1 with 4× wider output) units, each
 * convolution followed by BatchNorm, the sum followed by ReLU; a global average pool and one linear layer. As
 * torchvision's {@code resnet.py}: one builder and a table of units per stage ({@code [2, 2, 2, 2]} is ResNet-18), the
 * stride of a bottleneck on its 3×3 convolution ("ResNet v1.5"), a projection shortcut ({@code downsample}: 1×1
 * convolution and BatchNorm) where the shape changes, and torchvision's parameter names ({@code conv1}, {@code bn1},
 * {@code layer1.0.conv1}, {@code layer2.0.downsample.0}, {@code fc}), so that its published weights load by name.
 */
public final class ResNet {
    private ResNet() {}

    /**
     * @param block  basic or bottleneck
     * @param layers units per stage; stage i has {@code width·2^i} channels inside its units (4× that out of a
     *               bottleneck), and all but the first halve the resolution in their first unit
     * @param width  channels of the stem and of the first stage's units (torchvision: 64)
     */
    public record Options(String block, List<Integer> layers, int width) implements Arch {
        public Options {
            layers = List.copyOf(layers);
        }

        int expansion() {
            return block.equals("bottleneck") ? 4 : 1;
        }

        @Override
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("block", block);
            m.put("layers", new ArrayList<>(layers));
            m.put("width", width);
            return m;
        }

        @Override
        public Options withOverrides(ConfigNode n) {
            n.requireOnly("block", "layers", "width");
            List<Integer> l = layers;
            if (n.has("layers")) {
                l = new ArrayList<>();
                for (int units : n.integers("layers", null, 1, 1000)) l.add(units);
                if (l.isEmpty()) throw n.get("layers").error("expected at least one stage, e.g. [2, 2, 2, 2]");
            }
            return new Options(n.choice("block", block, "basic", "bottleneck"), l, n.integer("width", width, 1, 4096));
        }

        @Override
        public void build(Net net, int numClasses) {
            net.add("conv1", new Layers.Conv2d(3, width, 7, 2, 3, false));
            net.add("bn1", new Layers.BatchNorm2d(width));
            net.add("relu", Layers.relu());
            net.add("maxpool", Layers.maxPool(3, 2, 1));
            int in = width;
            for (int s = 0; s < layers.size(); s++) {
                int planes = width << s;
                Sequential stage = net.add("layer" + (s + 1), new Sequential());
                for (int u = 0; u < layers.get(s); u++) {
                    int stride = (u == 0 && s > 0) ? 2 : 1;
                    stage.add(
                            block.equals("bottleneck")
                                    ? new Bottleneck(in, planes, stride)
                                    : new Basic(in, planes, stride));
                    in = planes * expansion();
                }
            }
            net.add("avgpool", Layers.adaptiveAvgPool(1));
            net.add("flatten", Layers.flatten());
            net.add("fc", new Layers.Linear(in, numClasses));
        }

        @Override
        public Map<String, List<String>> groups() {
            Map<String, List<String>> g = new LinkedHashMap<>();
            g.put("stem", List.of("conv1", "bn1"));
            for (int s = 0; s < layers.size(); s++) g.put("stage" + (s + 1), List.of("layer" + (s + 1)));
            return g;
        }
    }

    /** The part both units share: the residual branch, the shortcut, their sum and the ReLU after it. */
    abstract static class Unit extends Module implements Layer, Residual {
        final int in, out, stride;
        Sequential downsample; // null for the identity

        Unit(int in, int out, int stride) {
            this.in = in;
            this.out = out;
            this.stride = stride;
        }

        /** The projection where the shape changes, registered after the branch as torchvision does (its file order). */
        void addDownsample() {
            if (stride == 1 && in == out) return;
            downsample = register_module("downsample", new Sequential());
            downsample.add(new Layers.Conv2d(in, out, 1, stride, 0, false));
            downsample.add(new Layers.BatchNorm2d(out));
        }

        abstract <V> V residual(Tracer<V> t, V x);

        /** The branch's last BatchNorm, whose γ {@code zero_init_residual} sets to zero. */
        abstract Layers.BatchNorm2d lastNorm();

        @Override
        public void zeroLast() {
            try (NoGradGuard g = new NoGradGuard()) {
                lastNorm().weight.zero_();
            }
        }

        @Override
        public Tensor forward(Tensor x) {
            return trace(Eager.TRACER, x);
        }

        @Override
        public <V> V trace(Tracer<V> t, V x) {
            V skip = downsample == null ? x : t.child("downsample", downsample, x);
            return t.relu(t.add(residual(t, x), skip));
        }

        String shape() {
            return in + "→" + out + (stride != 1 ? ", stride " + stride : "")
                    + (downsample != null ? ", projection" : "") + ")";
        }
    }

    /** Two 3×3 convolutions, the first carrying the stride. */
    static final class Basic extends Unit {
        final Layers.Conv2d conv1, conv2;
        final Layers.BatchNorm2d bn1, bn2;

        Basic(int in, int planes, int stride) {
            super(in, planes, stride);
            conv1 = register_module("conv1", new Layers.Conv2d(in, planes, 3, stride, 1, false));
            bn1 = register_module("bn1", new Layers.BatchNorm2d(planes));
            conv2 = register_module("conv2", new Layers.Conv2d(planes, planes, 3, 1, 1, false));
            bn2 = register_module("bn2", new Layers.BatchNorm2d(planes));
            addDownsample();
        }

        @Override
        <V> V residual(Tracer<V> t, V x) {
            V h = t.relu(t.child("bn1", bn1, t.child("conv1", conv1, x)));
            return t.child("bn2", bn2, t.child("conv2", conv2, h));
        }

        @Override
        Layers.BatchNorm2d lastNorm() {
            return bn2;
        }

        @Override
        public String describe() {
            return "BasicBlock(" + shape();
        }
    }

    /** 1×1 reduce to {@code planes}, 3×3 (carrying the stride, as torchvision), 1×1 expand to {@code 4·planes}. */
    static final class Bottleneck extends Unit {
        final Layers.Conv2d conv1, conv2, conv3;
        final Layers.BatchNorm2d bn1, bn2, bn3;

        Bottleneck(int in, int planes, int stride) {
            super(in, planes * 4, stride);
            conv1 = register_module("conv1", new Layers.Conv2d(in, planes, 1, 1, 0, false));
            bn1 = register_module("bn1", new Layers.BatchNorm2d(planes));
            conv2 = register_module("conv2", new Layers.Conv2d(planes, planes, 3, stride, 1, false));
            bn2 = register_module("bn2", new Layers.BatchNorm2d(planes));
            conv3 = register_module("conv3", new Layers.Conv2d(planes, planes * 4, 1, 1, 0, false));
            bn3 = register_module("bn3", new Layers.BatchNorm2d(planes * 4));
            addDownsample();
        }

        @Override
        <V> V residual(Tracer<V> t, V x) {
            V h = t.relu(t.child("bn1", bn1, t.child("conv1", conv1, x)));
            h = t.relu(t.child("bn2", bn2, t.child("conv2", conv2, h)));
            return t.child("bn3", bn3, t.child("conv3", conv3, h));
        }

        @Override
        Layers.BatchNorm2d lastNorm() {
            return bn3;
        }

        @Override
        public String describe() {
            return "Bottleneck(" + shape();
        }
    }
}
