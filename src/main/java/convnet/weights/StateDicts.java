package convnet.weights;

import convnet.UserException;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/** Copying named tensors read from a file into a module's state, checking names and shapes. */
public final class StateDicts {
    private StateDicts() {}

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
                throw new UserException(source + ": tensor '" + e.getKey() + "' has shape " + Arrays.toString(e.getValue().shape())
                        + ", the model expects " + Arrays.toString(want));
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
        if (names.size() <= 6) return String.join(", ", names);
        return String.join(", ", names.stream().limit(6).toList()) + " and " + (names.size() - 6) + " more";
    }
}
