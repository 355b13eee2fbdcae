package convnet.model;

import convnet.config.ConfigNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The VGG family as one table and one builder, after torchvision's {@code cfgs}: a number is a
 * 3×3 convolution with that many output channels, {@code M} a 2×2 max-pool. Variants (BatchNorm,
 * its place, PReLU, dropout after pools, head shape) are options of the builder.
 */
public final class Vgg {
    private Vgg() {}

    static final int M = -1;

    /** Configurations A, B, D, E of Simonyan & Zisserman (2015), Table 1. */
    public static final Map<String, int[]> CFGS = Map.of(
            "A", new int[] {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M},
            "B", new int[] {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M},
            "D", new int[] {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M},
            "E",
                    new int[] {
                        64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M
                    });

    /**
     * @param cfg             A, B, D or E
     * @param batchNorm       add BatchNorm to every convolution
     * @param bnAfterActivation BatchNorm after the activation (the reference Caltech variant) rather than before
     * @param activation      relu or prelu
     * @param poolDropout     dropout after each pooling block (0 = none)
     * @param head            fixed (7×7 adaptive pool + flatten, torchvision) or gap (global average pool)
     * @param classifierWidths hidden widths of the classifier, e.g. [4096, 4096]; empty = one linear layer
     * @param classifierDropout dropout after each hidden classifier layer
     */
    public record Options(
            String cfg,
            boolean batchNorm,
            boolean bnAfterActivation,
            String activation,
            double poolDropout,
            String head,
            int[] classifierWidths,
            double classifierDropout)
            implements Arch {

        public static Options paper(String cfg, boolean batchNorm) {
            return new Options(cfg, batchNorm, false, "relu", 0, "fixed", new int[] {4096, 4096}, 0.5);
        }

        @Override
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("cfg", cfg);
            m.put("batch_norm", batchNorm);
            m.put("bn_position", bnAfterActivation ? "after_activation" : "before_activation");
            m.put("activation", activation);
            m.put("pool_dropout", poolDropout);
            m.put("head", head);
            List<Integer> widths = new ArrayList<>();
            for (int w : classifierWidths) widths.add(w);
            m.put("classifier_widths", widths);
            m.put("classifier_dropout", classifierDropout);
            return m;
        }

        @Override
        public Options withOverrides(ConfigNode n) {
            n.requireOnly(
                    "cfg",
                    "batch_norm",
                    "bn_position",
                    "activation",
                    "pool_dropout",
                    "head",
                    "classifier_widths",
                    "classifier_dropout");
            return new Options(
                    n.choice("cfg", cfg, "A", "B", "D", "E"),
                    n.bool("batch_norm", batchNorm),
                    n.choice(
                                    "bn_position",
                                    bnAfterActivation ? "after_activation" : "before_activation",
                                    "before_activation",
                                    "after_activation")
                            .equals("after_activation"),
                    n.choice("activation", activation, "relu", "prelu"),
                    n.number("pool_dropout", poolDropout, 0, 0.99),
                    n.choice("head", head, "fixed", "gap"),
                    n.integers("classifier_widths", classifierWidths, 1, 1 << 20),
                    n.number("classifier_dropout", classifierDropout, 0, 0.99));
        }

        @Override
        public void build(Net net, int numClasses) {
            Sequential features = net.add("features", new Sequential());
            int in = 3;
            for (int v : CFGS.get(cfg)) {
                if (v == M) {
                    features.add(Layers.maxPool(2, 2, 0));
                    if (poolDropout > 0) features.add(Layers.dropout(poolDropout, net));
                    continue;
                }
                features.add(new Layers.Conv2d(in, v, 3, 1, 1, true));
                if (batchNorm && !bnAfterActivation) features.add(new Layers.BatchNorm2d(v));
                features.add(activation(v));
                if (batchNorm && bnAfterActivation) features.add(new Layers.BatchNorm2d(v));
                in = v;
            }
            int width;
            if (head.equals("fixed")) {
                net.add("avgpool", Layers.adaptiveAvgPool(7));
                width = in * 7 * 7;
            } else {
                net.add("avgpool", Layers.adaptiveAvgPool(1));
                width = in;
            }
            net.add("flatten", Layers.flatten());
            Sequential classifier = net.add("classifier", new Sequential());
            for (int hidden : classifierWidths) {
                classifier.add(new Layers.Linear(width, hidden));
                classifier.add(activation(hidden));
                classifier.add(Layers.dropout(classifierDropout, net));
                width = hidden;
            }
            classifier.add(new Layers.Linear(width, numClasses));
        }

        /** One group per block of convolutions that ends in a max pool ({@code stage1} is features.0 to the first pool). */
        @Override
        public Map<String, List<String>> groups() {
            Map<String, List<String>> g = new LinkedHashMap<>();
            List<String> block = new ArrayList<>();
            int index = 0;
            for (int v : CFGS.get(cfg)) {
                int layers = v == M ? (poolDropout > 0 ? 2 : 1) : (batchNorm ? 3 : 2); // as build() adds them
                for (int i = 0; i < layers; i++) block.add("features." + index++);
                if (v == M) {
                    g.put("stage" + (g.size() + 1), List.copyOf(block));
                    block.clear();
                }
            }
            return g;
        }

        private Layer activation(int channels) {
            return activation.equals("prelu") ? new Layers.PReLU(channels) : Layers.relu();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Options other && toMap().equals(other.toMap());
        }

        @Override
        public int hashCode() {
            return toMap().hashCode();
        }
    }
}
