package convnet.train;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * A part of training that keeps state across a resume — the schedule, the loss scaler, early stopping, the
 * average of the weights, the unfinished epoch's sums, the best epoch so far (Lightning's {@code state_dict} /
 * {@code load_state_dict}). A checkpoint asks each part registered with the {@link Trainer} for its state and
 * stores it under the part's {@link #stateKey()} in {@code state.json}; a resume hands each part back its own.
 * Adding a stateful feature is its class implementing this, and its registration: {@link Trainer} registers the
 * parts it owns and every listener that implements this.
 */
public interface Stateful {
    /** The part's name in {@code state.json}'s {@code components} (and of its tensor file, if it has tensors). */
    String stateKey();

    /**
     * The part's state as JSON values: numbers ({@code NaN} is written as null), booleans, strings, lists. Null or
     * empty: nothing to save now.
     */
    Map<String, Object> state();

    /** Takes back what {@link #state()} gave (numbers may come back as other {@link Number} types, NaN as null). */
    void restore(Map<String, Object> state);

    /**
     * Tensors the part keeps (live handles): saved beside {@code state.json} as {@code <stateKey>.safetensors}
     * with their checksum, and loaded into these handles on resume, before {@link #restore}. Empty for most.
     */
    default Map<String, Tensor> tensors() {
        return Map.of();
    }

    /** {@code state}'s number {@code key}; NaN when it is null or absent. */
    static double number(Map<String, Object> state, String key) {
        return state.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** {@code state}'s whole number {@code key}; 0 when it is null or absent. */
    static long integer(Map<String, Object> state, String key) {
        return state.get(key) instanceof Number n ? n.longValue() : 0;
    }
}
