package convnet.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Runs a residual unit's trace on tensors: each part's own forward, then libtorch's ReLU and sum. One description of
 * a unit ({@link Layer#trace}) so serves both the forward pass and export.
 */
final class Eager {
    private Eager() {}

    static final Tracer<Tensor> TRACER = new Tracer<>() {
        @Override
        public Tensor child(String name, Layer layer, Tensor x) {
            return layer.forward(x);
        }

        @Override
        public Tensor relu(Tensor x) {
            return torch.relu(x);
        }

        @Override
        public Tensor add(Tensor a, Tensor b) {
            return a.add(b);
        }

        // Units reach their layers only through child(), which runs them directly.
        @Override
        public Tensor conv(Layers.Conv2d conv, Tensor x) {
            return conv.forward(x);
        }

        @Override
        public Tensor batchNorm(Layers.BatchNorm2d norm, Tensor x) {
            return norm.forward(x);
        }

        @Override
        public Tensor linear(Layers.Linear linear, Tensor x) {
            return linear.forward(x);
        }

        @Override
        public Tensor prelu(Layers.PReLU prelu, Tensor x) {
            return prelu.forward(x);
        }

        @Override
        public Tensor maxPool(int kernel, int stride, int padding, Tensor x) {
            throw new UnsupportedOperationException("a residual unit has no pooling");
        }

        @Override
        public Tensor adaptiveAvgPool(int size, Tensor x) {
            throw new UnsupportedOperationException("a residual unit has no pooling");
        }

        @Override
        public Tensor flatten(Tensor x) {
            throw new UnsupportedOperationException("a residual unit does not flatten");
        }
    };
}
