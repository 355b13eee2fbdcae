package convnet.model;

import convnet.UserException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The registry: model names → architecture presets, as timm's {@code create_model}. */
public final class Models {
    private Models() {}

    private static final Map<String, Arch> PRESETS = new LinkedHashMap<>();
    private static final Map<String, String> NOTES = new LinkedHashMap<>();

    private static void add(String name, Arch arch, String note) {
        PRESETS.put(name, arch);
        NOTES.put(name, note);
    }

    private static List<PreActResNet.Stage> stages(int... channelsUnits) {
        PreActResNet.Stage[] s = new PreActResNet.Stage[channelsUnits.length / 2];
        for (int i = 0; i < s.length; i++)
            s[i] = new PreActResNet.Stage(channelsUnits[2 * i], channelsUnits[2 * i + 1]);
        return List.of(s);
    }

    static {
        String[][] vggs = {{"vgg11", "A"}, {"vgg13", "B"}, {"vgg16", "D"}, {"vgg19", "E"}};
        for (String[] v : vggs) {
            add(v[0], Vgg.Options.paper(v[1], false), "VGG configuration " + v[1] + ", as torchvision");
            add(
                    v[0] + "_bn",
                    Vgg.Options.paper(v[1], true),
                    "VGG configuration " + v[1] + " with BatchNorm, as torchvision");
        }
        add(
                "vgg13_caltech",
                new Vgg.Options("B", true, true, "prelu", 0.25, "fixed", new int[] {4096, 4096}, 0.5),
                "VGG B as the reference Caltech-256 run: PReLU, BatchNorm after activation, dropout 0.25 after each pool");
        add(
                "vgg11_bn_gap",
                new Vgg.Options("A", true, false, "relu", 0, "gap", new int[] {}, 0),
                "VGG A with BatchNorm and a global-average-pool head (any input size, e.g. 32×32)");
        add(
                "preact_resnet20_cifar",
                new PreActResNet.Options("basic", "cifar", 16, stages(16, 3, 32, 3, 64, 3)),
                "pre-activation ResNet-20 for 32×32 inputs (He et al. 2016)");
        add(
                "preact_resnet56_cifar",
                new PreActResNet.Options("basic", "cifar", 16, stages(16, 9, 32, 9, 64, 9)),
                "pre-activation ResNet-56 for 32×32 inputs");
        add(
                "preact_resnet110_cifar",
                new PreActResNet.Options("basic", "cifar", 16, stages(16, 18, 32, 18, 64, 18)),
                "pre-activation ResNet-110 for 32×32 inputs");
        add(
                "preact_resnet20",
                new PreActResNet.Options("bottleneck", "imagenet", 64, stages(128, 1, 256, 2, 512, 2, 1024, 1)),
                "bottleneck pre-activation ResNet-20, the reference Caltech-256 model");
        add(
                "preact_resnet26",
                new PreActResNet.Options("bottleneck", "imagenet", 64, stages(128, 2, 256, 2, 512, 2, 1024, 2)),
                "bottleneck pre-activation ResNet-26, the reference Caltech-256 model");
        add(
                "preact_resnet50",
                new PreActResNet.Options("bottleneck", "imagenet", 64, stages(256, 3, 512, 4, 1024, 6, 2048, 3)),
                "bottleneck pre-activation ResNet-50 (ImageNet layout)");
        // torchvision's ResNet v1: units per stage, as resnet.py's resnet18/34/50
        Object[][] resnets = {
            {"resnet18", "basic", List.of(2, 2, 2, 2)},
            {"resnet34", "basic", List.of(3, 4, 6, 3)},
            {"resnet50", "bottleneck", List.of(3, 4, 6, 3)}
        };
        for (Object[] r : resnets) {
            @SuppressWarnings("unchecked")
            List<Integer> layers = (List<Integer>) r[2];
            add(
                    (String) r[0],
                    new ResNet.Options((String) r[1], layers, 64),
                    "ResNet-" + ((String) r[0]).substring(6) + " (v1, " + r[1]
                            + " units), as torchvision: its ImageNet weights load (torchvision:" + r[0] + ")");
        }
    }

    public static List<String> names() {
        return List.copyOf(PRESETS.keySet());
    }

    public static String note(String name) {
        return NOTES.get(name);
    }

    public static Arch preset(String name) {
        Arch a = PRESETS.get(name);
        if (a == null) {
            throw new UserException(
                    "unknown model '" + name + "' (known: " + String.join(", ", PRESETS.keySet()) + ")");
        }
        return a;
    }

    /** A spec with default init (Kaiming for convolutions, N(0, 0.01) for linear layers). */
    public static ModelSpec spec(String name, int numClasses) {
        return new ModelSpec(name, preset(name), numClasses, "kaiming", "normal");
    }

    /** Builds a preset with default init and seed 0. */
    public static Net create(String name, int numClasses) {
        return spec(name, numClasses).build(0);
    }
}
