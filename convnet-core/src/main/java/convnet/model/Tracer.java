package convnet.model;

/**
 * What a network computes at inference, told one operation at a time: each layer's {@link Layer#trace} calls
 * these in the order its {@code forward} runs them, so a graph exporter sees the model's own structure rather than a
 * table kept beside it. {@code V} stands for a value flowing through the network (a graph edge, a shape, ...).
 */
public interface Tracer<V> {
    V conv(Layers.Conv2d conv, V x);

    V batchNorm(Layers.BatchNorm2d norm, V x);

    V linear(Layers.Linear linear, V x);

    V prelu(Layers.PReLU prelu, V x);

    V relu(V x);

    V maxPool(int kernel, int stride, int padding, V x);

    /** Adaptive average pooling to {@code size × size} (1: a global average pool). */
    V adaptiveAvgPool(int size, V x);

    /** Flattens every dimension after the batch. */
    V flatten(V x);

    /** Element-wise sum (a residual connection). */
    V add(V a, V b);

    /** Dropout, which is the identity at inference (what a trace describes). */
    default V dropout(double p, V x) {
        return x;
    }

    /** A named part of the layer being traced (its parameters are named {@code name.*}); by default, just its trace. */
    default V child(String name, Layer layer, V x) {
        return layer.trace(this, x);
    }

    /** A layer that cannot describe itself to a tracer. */
    final class Untraceable extends RuntimeException {
        public final transient Layer layer;

        public Untraceable(Layer layer) {
            super(layer.describe() + " does not describe its computation (Layer.trace)");
            this.layer = layer;
        }
    }
}
