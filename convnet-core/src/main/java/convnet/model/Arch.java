package convnet.model;

import convnet.config.ConfigNode;
import java.util.Map;

/** An architecture family's description as data: what a builder reads to make a network. */
public sealed interface Arch permits Vgg.Options, PreActResNet.Options {
    /** The builder's options as plain values, in the form {@link #withOverrides} reads back. */
    Map<String, Object> toMap();

    /** A copy with the keys present in {@code node} replaced; unknown keys are errors. */
    Arch withOverrides(ConfigNode node);

    /** Builds the layers into {@code net}, which is empty. */
    void build(Net net, int numClasses);
}
