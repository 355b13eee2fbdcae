package convnet.weights;

import convnet.UserException;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;

/** A module's parameters and buffers by their dotted names, as PyTorch's {@code state_dict()}, and copying a file's tensors into them. */
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

    /** Copies named tensors read from a file into a module's state ({@code into}, from {@link #of}), checking names and shapes first. */
    public static void copyInto(String source, Map<String, Safetensors.Entry> entries, Map<String, Tensor> into) {
        TreeSet<String> missing = new TreeSet<>(into.keySet());
        missing.removeAll(entries.keySet());
        TreeSet<String> unexpected = new TreeSet<>(entries.keySet());
        unexpected.removeAll(into.keySet());
        if (!missing.isEmpty() || !unexpected.isEmpty()) {
            throw new UserException(source + ": weights do not match the model"
                    + (missing.isEmpty() ? "" : "; missing: " + abbreviate(missing))
                    + (unexpected.isEmpty() ? "" : "; unexpected: " + abbreviate(unexpected)));
        }
        for (Map.Entry<String, Safetensors.Entry> e : entries.entrySet()) {
            long[] want = Tensors.shape(into.get(e.getKey()));
            if (!Arrays.equals(want, e.getValue().shape())) {
                throw new UserException(source + ": tensor '" + e.getKey() + "' has shape "
                        + Arrays.toString(e.getValue().shape()) + ", the model expects " + Arrays.toString(want));
            }
        }
        for (Map.Entry<String, Safetensors.Entry> e : entries.entrySet()) {
            Scoped.run(() -> {
                try (NoGradGuard g = new NoGradGuard()) {
                    into.get(e.getKey()).copy_(Safetensors.toTensor(e.getValue()));
                }
            });
        }
    }

    static String abbreviate(TreeSet<String> names) {
        String shown =
                String.join(", ", names.stream().limit(6).map(Text::shown).toList());
        return names.size() <= 6 ? shown : shown + " and " + (names.size() - 6) + " more";
    }
}
