package convnet.model;

import convnet.config.ConfigNode;
import java.util.List;
import java.util.Map;

/** An architecture family's description as data: what a builder reads to make a network. */
public sealed interface Arch permits Vgg.Options, PreActResNet.Options, ResNet.Options {
    /** The builder's options as plain values, in the form {@link #withOverrides} reads back. */
    Map<String, Object> toMap();

    /** A copy with the keys present in {@code node} replaced; unknown keys are errors. */
    Arch withOverrides(ConfigNode node);

    /** Builds the layers into {@code net}, which is empty. */
    void build(Net net, int numClasses);

    /**
     * The network's named parts, in order, for {@code train.freeze} and {@code train.lr_factors}: {@code stem} (where
     * the family has one) and {@code stage1}, {@code stage2}, ..., each mapped to the parameter-name prefixes it
     * covers ({@code layer1} covers {@code layer1.0.conv1.weight}). The last layer ({@code head}) and everything
     * before it ({@code backbone}) are named for every family by {@link ParamGroups}.
     */
    Map<String, List<String>> groups();
}
