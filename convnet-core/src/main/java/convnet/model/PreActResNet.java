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
 * Identity-mapping (pre-activation) ResNet, He et al. 2016: every unit computes BN → ReLU → conv,
 * the shortcut stays an identity except where the shape changes, where a 1×1 projection is applied
 * to the pre-activated input. Described by a stem and a list of stages (output channels, units).
 */
public final class PreActResNet {
    private PreActResNet() {}

    /** One stage: its output channels and how many units it has. */
    public record Stage(int channels, int units) {}

    /**
     * @param block        basic (two 3×3 convs) or bottleneck (1×1, 3×3, 1×1 with a 4× narrower middle)
     * @param stem         cifar (one 3×3 conv) or imagenet (7×7/2 conv, BN, ReLU, 3×3/2 max-pool)
     * @param stemChannels output channels of the stem
     * @param stages       the stages; all but the first halve the resolution in their first unit
     */
    public record Options(String block, String stem, int stemChannels, List<Stage> stages) implements Arch {
        @Override
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("block", block);
            m.put("stem", stem);
            m.put("stem_channels", stemChannels);
            List<List<Integer>> s = new ArrayList<>();
            for (Stage st : stages) s.add(List.of(st.channels, st.units));
            m.put("stages", s);
            return m;
        }

        @Override
        public Options withOverrides(ConfigNode n) {
            n.requireOnly("block", "stem", "stem_channels", "stages");
            List<Stage> st = stages;
            if (n.has("stages")) {
                st = new ArrayList<>();
                for (ConfigNode item : n.get("stages").asList()) {
                    List<ConfigNode> pair = item.asList();
                    if (pair.size() != 2) throw item.error("expected [channels, units], e.g. [128, 2]");
                    st.add(new Stage(pair.get(0).asInt(1, 1 << 16), pair.get(1).asInt(1, 1000)));
                }
                if (st.isEmpty()) throw n.get("stages").error("expected at least one stage");
            }
            return new Options(
                    n.choice("block", block, "basic", "bottleneck"),
                    n.choice("stem", stem, "cifar", "imagenet"),
                    n.integer("stem_channels", stemChannels, 1, 1 << 16),
                    st);
        }

        @Override
        public void build(Net net, int numClasses) {
            Sequential stemSeq = net.add("stem", new Sequential());
            if (stem.equals("imagenet")) {
                stemSeq.add(new Layers.Conv2d(3, stemChannels, 7, 2, 3, false));
                stemSeq.add(new Layers.BatchNorm2d(stemChannels));
                stemSeq.add(Layers.relu());
                stemSeq.add(Layers.maxPool(3, 2, 1));
            } else {
                stemSeq.add(new Layers.Conv2d(3, stemChannels, 3, 1, 1, false));
            }
            int in = stemChannels;
            for (int s = 0; s < stages.size(); s++) {
                Stage stage = stages.get(s);
                Sequential layer = net.add("layer" + (s + 1), new Sequential());
                for (int u = 0; u < stage.units; u++) {
                    int stride = (u == 0 && s > 0) ? 2 : 1;
                    layer.add(
                            block.equals("bottleneck")
                                    ? new Bottleneck(in, stage.channels, stride)
                                    : new Basic(in, stage.channels, stride));
                    in = stage.channels;
                }
            }
            Sequential post = net.add("post", new Sequential());
            post.add(new Layers.BatchNorm2d(in));
            post.add(Layers.relu());
            net.add("avgpool", Layers.adaptiveAvgPool(1));
            net.add("flatten", Layers.flatten());
            net.add("fc", new Layers.Linear(in, numClasses));
        }

        /** The stem, then one group per stage; the final BatchNorm ({@code post}) is the last stage's. */
        @Override
        public Map<String, List<String>> groups() {
            Map<String, List<String>> g = new LinkedHashMap<>();
            g.put("stem", List.of("stem"));
            for (int s = 0; s < stages.size(); s++)
                g.put(
                        "stage" + (s + 1),
                        s == stages.size() - 1 ? List.of("layer" + (s + 1), "post") : List.of("layer" + (s + 1)));
            return g;
        }
    }

    /** Shared shape of both units: pre-activated input feeds the residual path and, if needed, the projection. */
    abstract static class Unit extends Module implements Layer, Residual {
        final int in, out, stride;
        final Layers.Conv2d shortcut; // null for identity

        Unit(int in, int out, int stride) {
            this.in = in;
            this.out = out;
            this.stride = stride;
            this.shortcut = (stride != 1 || in != out)
                    ? register_module("shortcut", new Layers.Conv2d(in, out, 1, stride, 0, false))
                    : null;
        }

        /** The residual branch on the pre-activated input. */
        abstract <V> V residual(Tracer<V> t, V preActivated);

        abstract Layers.BatchNorm2d firstNorm();

        /** The residual branch's last convolution: zeroed, the unit starts as the identity. */
        abstract Layers.Conv2d lastConv();

        @Override
        public void zeroLast() {
            try (NoGradGuard g = new NoGradGuard()) {
                lastConv().weight.zero_();
            }
        }

        // One description of the unit serves both the forward pass (traced on tensors) and export.
        @Override
        public Tensor forward(Tensor x) {
            return trace(Eager.TRACER, x);
        }

        @Override
        public <V> V trace(Tracer<V> t, V x) {
            V pre = t.relu(t.child("bn1", firstNorm(), x));
            V skip = shortcut == null ? x : t.child("shortcut", shortcut, pre);
            return t.add(residual(t, pre), skip);
        }
    }

    /** Two 3×3 convolutions. */
    static final class Basic extends Unit {
        final Layers.BatchNorm2d bn1, bn2;
        final Layers.Conv2d conv1, conv2;

        Basic(int in, int out, int stride) {
            super(in, out, stride);
            bn1 = register_module("bn1", new Layers.BatchNorm2d(in));
            conv1 = register_module("conv1", new Layers.Conv2d(in, out, 3, stride, 1, false));
            bn2 = register_module("bn2", new Layers.BatchNorm2d(out));
            conv2 = register_module("conv2", new Layers.Conv2d(out, out, 3, 1, 1, false));
        }

        @Override
        Layers.BatchNorm2d firstNorm() {
            return bn1;
        }

        @Override
        Layers.Conv2d lastConv() {
            return conv2;
        }

        @Override
        <V> V residual(Tracer<V> t, V pre) {
            return t.child("conv2", conv2, t.relu(t.child("bn2", bn2, t.child("conv1", conv1, pre))));
        }

        @Override
        public String describe() {
            return "PreActBasic(" + in + "→" + out + (stride != 1 ? ", stride " + stride : "")
                    + (shortcut != null ? ", projection" : "") + ")";
        }
    }

    /** 1×1 reduce, 3×3 (carries the stride), 1×1 expand; the middle is a quarter of the output width. */
    static final class Bottleneck extends Unit {
        final Layers.BatchNorm2d bn1, bn2, bn3;
        final Layers.Conv2d conv1, conv2, conv3;

        Bottleneck(int in, int out, int stride) {
            super(in, out, stride);
            int mid = Math.max(1, out / 4);
            bn1 = register_module("bn1", new Layers.BatchNorm2d(in));
            conv1 = register_module("conv1", new Layers.Conv2d(in, mid, 1, 1, 0, false));
            bn2 = register_module("bn2", new Layers.BatchNorm2d(mid));
            conv2 = register_module("conv2", new Layers.Conv2d(mid, mid, 3, stride, 1, false));
            bn3 = register_module("bn3", new Layers.BatchNorm2d(mid));
            conv3 = register_module("conv3", new Layers.Conv2d(mid, out, 1, 1, 0, false));
        }

        @Override
        Layers.BatchNorm2d firstNorm() {
            return bn1;
        }

        @Override
        Layers.Conv2d lastConv() {
            return conv3;
        }

        @Override
        <V> V residual(Tracer<V> t, V pre) {
            V h = t.child("conv1", conv1, pre);
            h = t.child("conv2", conv2, t.relu(t.child("bn2", bn2, h)));
            return t.child("conv3", conv3, t.relu(t.child("bn3", bn3, h)));
        }

        @Override
        public String describe() {
            return "PreActBottleneck(" + in + "→" + out + (stride != 1 ? ", stride " + stride : "")
                    + (shortcut != null ? ", projection" : "") + ")";
        }
    }

    /**
     * Zeroes the last layer of every residual branch, so that each unit starts as the identity: the last convolution of
     * a pre-activation unit (the pre-activation form of zero-initialising the last BatchNorm γ: here the branch ends in
     * a convolution), the last BatchNorm γ of a {@link ResNet} unit (torchvision's {@code zero_init_residual}). Returns
     * how many were zeroed (0 for networks without residual units).
     */
    public static int zeroLastInResidualBranches(Sequential seq) {
        int n = 0;
        for (Sequential.Entry e : seq.entries()) {
            if (e.layer() instanceof Sequential inner) {
                n += zeroLastInResidualBranches(inner);
            } else if (e.layer() instanceof Residual u) {
                u.zeroLast();
                n++;
            }
        }
        return n;
    }
}
