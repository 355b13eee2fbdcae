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
}
