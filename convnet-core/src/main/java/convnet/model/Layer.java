package convnet.model;

import org.bytedeco.pytorch.Tensor;

/** One step of a network's forward pass. Layers with parameters are also {@link org.bytedeco.pytorch.Module}s. */
@FunctionalInterface
public interface Layer {
    Tensor forward(Tensor x);

    /** A short human description for summaries, e.g. {@code Conv2d(3→64, 3×3)}. */
    default String describe() {
        return getClass().getSimpleName();
    }

    /**
     * Tells {@code tracer} what {@link #forward} computes at inference, operation by operation, and returns what the
     * tracer made of the result (for ONNX export). A layer that does not override it cannot be exported.
     */
    default <V> V trace(Tracer<V> tracer, V x) {
        throw new Tracer.Untraceable(this);
    }
}
