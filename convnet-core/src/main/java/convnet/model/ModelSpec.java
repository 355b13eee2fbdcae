package convnet.model;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.global.torch;

/**
 * Everything needed to rebuild a network: the registry name it started from, the architecture
 * options (after overrides), the class count and the init scheme.
 */
public record ModelSpec(String name, Arch arch, int numClasses, String initConv, String initLinear) {

    /** Builds the network; {@code seed} fixes the initial weights. Call outside any PointerScope. */
    public Net build(long seed) {
        torch.manual_seed(seed);
        Net net = new Net(this);
        arch.build(net, numClasses);
        Init.apply(net, initConv, initLinear);
        return net;
    }

    public ModelSpec withClasses(int n) {
        return new ModelSpec(name, arch, n, initConv, initLinear);
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("options", arch.toMap());
        m.put("init", Map.of("conv", initConv, "linear", initLinear));
        return m;
    }
}
