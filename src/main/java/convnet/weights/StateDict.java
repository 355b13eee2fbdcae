package convnet.weights;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;

/** A module's parameters and buffers by their dotted names, as PyTorch's {@code state_dict()}. */
public final class StateDict {
    private StateDict() {}

    /** Live handles to the module's tensors (writing into them changes the module). */
    public static Map<String, Tensor> of(Module m) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        put(out, m.named_parameters(true));
        put(out, m.named_buffers(true));
        return out;
    }

    private static void put(Map<String, Tensor> out, StringTensorDict dict) {
        for (long i = 0; i < dict.size(); i++) {
            // value() refers into the dictionary, which is freed with it: keep an owning handle instead
            out.put(dict.get(i).key().getString(), new Tensor(dict.get(i).value()));
        }
    }
}
