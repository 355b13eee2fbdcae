package convnet.model;

import java.util.function.Supplier;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * The building blocks, written over libtorch's functional operators so that parameter and buffer
 * names are exactly torchvision's ({@code weight}, {@code bias}, {@code running_mean}, ...), which
 * makes weight import and export a matter of names.
 */
public final class Layers {
    private Layers() {}

    /** How new layers make their tensors: normally, on the meta device, or allocated but left uninitialised. */
    enum Making {
        NORMAL,
        SHAPES_ONLY,
        UNINITIALISED
    }

    private static final ThreadLocal<Making> MAKING = ThreadLocal.withInitial(() -> Making.NORMAL);

    static Making making() {
        return MAKING.get();
    }

    private static <T> T with(Making m, Supplier<T> build) {
        Making was = MAKING.get();
        MAKING.set(m);
        try {
            return build.get();
        } finally {
            MAKING.set(was);
        }
    }

    /**
     * Runs {@code build} with every layer's tensors on libtorch's meta device: the network has its layers,
     * shapes and parameter counts, but no weight takes memory or time (for {@code models}). It cannot run:
     * libtorch's C++ build lacks meta kernels for convolution, ReLU and BatchNorm.
     */
    public static <T> T shapesOnly(Supplier<T> build) {
        return with(Making.SHAPES_ONLY, build);
    }

    /**
     * Runs {@code build} with the weights allocated but not initialised: a forward pass gives correct output
     * shapes, and pages that are never written cost no resident memory (for {@code summary}).
     */
    public static <T> T uninitialised(Supplier<T> build) {
        return with(Making.UNINITIALISED, build);
    }

    /** Options for a new tensor of a layer: on the meta device inside {@link #shapesOnly}. */
    static TensorOptions options(torch.ScalarType type) {
        TensorOptions o = new TensorOptions(type);
        if (MAKING.get() == Making.SHAPES_ONLY) o = o.device(new DeviceOptional(new Device("meta")));
        return o;
    }

    static Tensor empty(long... shape) {
        return torch.empty(shape, options(torch.ScalarType.Float), new MemoryFormatOptional());
    }

    static Tensor zeros(long... shape) {
        return torch.zeros(shape, options(torch.ScalarType.Float));
    }

    static Tensor ones(long... shape) {
        return torch.ones(shape, options(torch.ScalarType.Float));
    }

    // register_parameter/register_buffer return a reference into the module's table, which moves when
    // the table grows; keep our own handle to the same tensor instead.
    static Tensor param(Module owner, String name, Tensor t) {
        owner.register_parameter(name, t);
        return t;
    }

    static Tensor buffer(Module owner, String name, Tensor t) {
        owner.register_buffer(name, t);
        return t;
    }

    /**
     * A 2-D convolution with a square kernel ({@code weight} is {@code [out, in, k, k]}, {@code bias} may be null),
     * routed around two oneDNN paths that fail on some AVX-512 CPUs (seen on AMD EPYC Zen 4/5 VMs whose hypervisor
     * hides the cache sizes, oneDNN 3.7.1 in libtorch 2.10):
     *
     * <ul>
     *   <li>1×1 kernels: {@code brgemm_1x1_convolution} dies with SIGFPE in {@code brg_blocking_t::est_eff_1x1},
     *       killing the JVM (every bottleneck ResNet). Computed as a matrix product over channels.
     *   <li>kernels that cover the whole unpadded input (a 1×1 output, as a fully connected layer turned into a
     *       convolution for dense evaluation): oneDNN runs them as an inner product that returned wrong sums — 2 % to
     *       90 % off for 512→64 at 7×7, batch 2–4. Computed as a linear layer on the flattened input.
     * </ul>
     *
     * The products go through the GEMM path ({@code linear} and {@code matmul} are on autocast's bf16 list, as
     * {@code conv2d} is), so bf16 autocast behaves as before; autograd gives the gradients of input, weight and bias.
     * Every other convolution is libtorch's {@code conv2d}.
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        long out = weight.size(0), in = weight.size(1), k = weight.size(2);
        if (k == 1) return pointwise(x, weight.reshape(out, in), bias, stride, padding);
        if (padding == 0 && x.dim() == 4 && x.size(2) == k && x.size(3) == k) {
            Tensor rows =
                    x.reshape(x.size(0), in * k * k); // (c, y, x) order, as the weight's; a copy when channels-last
            Tensor w2 = weight.reshape(out, in * k * k);
            Tensor y = bias == null ? torch.linear(rows, w2) : torch.linear(rows, w2, new TensorOptional(bias));
            return y.view(x.size(0), out, 1, 1);
        }
        return torch.conv2d(
                x,
                weight,
                bias == null ? new TensorOptional() : new TensorOptional(bias),
                new long[] {stride, stride},
                new long[] {padding, padding},
                new long[] {1, 1},
                1);
    }

    /** A 1×1 convolution with {@code w2 = [out, in]}: stride s takes every s-th pixel first, padding pads first. */
    private static Tensor pointwise(Tensor x, Tensor w2, Tensor bias, int stride, int padding) {
        long out = w2.size(0), in = w2.size(1);
        boolean channelsLast = x.is_contiguous(torch.MemoryFormat.ChannelsLast) && !x.is_contiguous();
        if (padding > 0) x = torch.constant_pad_nd(x, padding, padding, padding, padding);
        if (stride > 1) {
            LongOptional none = new LongOptional();
            x = x.slice(2, none, none, stride).slice(3, none, none, stride);
        }
        long n = x.size(0), h = x.size(2), w = x.size(3);
        if (channelsLast) {
            // [N, H, W, C] rows are contiguous, so this reshape is a view (a copy of the kept pixels when strided)
            Tensor rows = x.permute(0, 2, 3, 1).reshape(n * h * w, in);
            Tensor y = bias == null ? torch.linear(rows, w2) : torch.linear(rows, w2, new TensorOptional(bias));
            return y.view(n, h, w, out).permute(0, 3, 1, 2);
        }
        Tensor y = torch.matmul(w2, x.reshape(n, in, h * w));
        // in place, so that a bf16 product stays bf16 as conv2d's output would under autocast
        if (bias != null) y.add_(bias.view(out, 1));
        return y.view(n, out, h, w);
    }

    /** 2-D convolution with square kernel, stride and padding. */
    public static final class Conv2d extends Module implements Layer {
        public final int in, out, kernel, stride, padding;
        public final Tensor weight;
        public final Tensor bias; // null when the convolution has no bias

        public Conv2d(int in, int out, int kernel, int stride, int padding, boolean bias) {
            this.in = in;
            this.out = out;
            this.kernel = kernel;
            this.stride = stride;
            this.padding = padding;
            this.weight = param(this, "weight", empty(out, in, kernel, kernel));
            this.bias = bias ? param(this, "bias", zeros(out)) : null;
        }

        @Override
        public Tensor forward(Tensor x) {
            return conv2d(x, weight, bias, stride, padding);
        }

        @Override
        public <V> V trace(Tracer<V> t, V x) {
            return t.conv(this, x);
        }

        @Override
        public String describe() {
            return "Conv2d(" + in + "→" + out + ", " + kernel + "×" + kernel + (stride != 1 ? ", stride " + stride : "")
                    + ")";
        }
    }

    /** Fully connected layer; weight is {@code [out, in]} as in PyTorch. */
    public static final class Linear extends Module implements Layer {
        public final int in, out;
        public final Tensor weight, bias;

        public Linear(int in, int out) {
            this.in = in;
            this.out = out;
            this.weight = param(this, "weight", empty(out, in));
            this.bias = param(this, "bias", zeros(out));
        }

        @Override
        public Tensor forward(Tensor x) {
            return torch.linear(x, weight, bias);
        }

        @Override
        public <V> V trace(Tracer<V> t, V x) {
            return t.linear(this, x);
        }

        @Override
        public String describe() {
            return "Linear(" + in + "→" + out + ")";
        }
    }

    /** Batch normalisation over channels, with running statistics as buffers. */
    public static final class BatchNorm2d extends Module implements Layer {
        public static final double MOMENTUM = 0.1, EPS = 1e-5;
        public final int channels;
        public final Tensor weight, bias, runningMean, runningVar, numBatchesTracked;

        public BatchNorm2d(int channels) {
            this.channels = channels;
            this.weight = param(this, "weight", ones(channels));
            this.bias = param(this, "bias", zeros(channels));
            this.runningMean = buffer(this, "running_mean", zeros(channels));
            this.runningVar = buffer(this, "running_var", ones(channels));
            this.numBatchesTracked =
                    register_buffer("num_batches_tracked", torch.zeros(new long[] {}, options(torch.ScalarType.Long)));
        }

        @Override
        public Tensor forward(Tensor x) {
            boolean training = is_training();
            if (training) {
                try (NoGradGuard g = new NoGradGuard()) {
                    numBatchesTracked.add_(new Scalar(1L));
                }
            }
            return torch.batch_norm(
                    x,
                    new TensorOptional(weight),
                    new TensorOptional(bias),
                    new TensorOptional(runningMean),
                    new TensorOptional(runningVar),
                    training,
                    MOMENTUM,
                    EPS,
                    true);
        }

        @Override
        public <V> V trace(Tracer<V> t, V x) {
            return t.batchNorm(this, x);
        }

        @Override
        public String describe() {
            return "BatchNorm2d(" + channels + ")";
        }
    }

    /** Parametric ReLU with one slope per channel (one slope for flat inputs of that width). */
    public static final class PReLU extends Module implements Layer {
        public final int channels;
        public final Tensor weight;

        public PReLU(int channels) {
            this.channels = channels;
            this.weight = param(
                    this,
                    "weight",
                    torch.full(new long[] {channels}, new Scalar(0.25f), options(torch.ScalarType.Float)));
        }

        @Override
        public Tensor forward(Tensor x) {
            return torch.prelu(x, weight);
        }

        @Override
        public <V> V trace(Tracer<V> t, V x) {
            return t.prelu(this, x);
        }

        @Override
        public String describe() {
            return "PReLU(" + channels + ")";
        }
    }

    /** ReLU: no parameters. */
    public static Layer relu() {
        return new Layer() {
            @Override
            public Tensor forward(Tensor x) {
                return torch.relu(x);
            }

            @Override
            public <V> V trace(Tracer<V> t, V x) {
                return t.relu(x);
            }

            @Override
            public String describe() {
                return "ReLU";
            }
        };
    }

    public static Layer maxPool(int kernel, int stride, int padding) {
        return new Layer() {
            @Override
            public Tensor forward(Tensor x) {
                return torch.max_pool2d(
                        x,
                        new long[] {kernel, kernel},
                        new long[] {stride, stride},
                        new long[] {padding, padding},
                        new long[] {1, 1},
                        false);
            }

            @Override
            public <V> V trace(Tracer<V> t, V x) {
                return t.maxPool(kernel, stride, padding, x);
            }

            @Override
            public String describe() {
                return "MaxPool2d(" + kernel + "×" + kernel + ", stride " + stride + ")";
            }
        };
    }

    /** Adaptive average pooling to a fixed {@code size × size} map (torchvision's VGG uses 7; 1 is a global average pool). */
    public record AdaptiveAvgPool(int size) implements Layer {
        @Override
        public Tensor forward(Tensor x) {
            return torch.adaptive_avg_pool2d(x, size, size);
        }

        @Override
        public <V> V trace(Tracer<V> t, V x) {
            return t.adaptiveAvgPool(size, x);
        }

        @Override
        public String describe() {
            return size == 1 ? "GlobalAvgPool" : "AdaptiveAvgPool2d(" + size + "×" + size + ")";
        }
    }

    public static Layer adaptiveAvgPool(int size) {
        return new AdaptiveAvgPool(size);
    }

    public static Layer flatten() {
        return new Layer() {
            @Override
            public Tensor forward(Tensor x) {
                return torch.flatten(x, 1, -1);
            }

            @Override
            public <V> V trace(Tracer<V> t, V x) {
                return t.flatten(x);
            }

            @Override
            public String describe() {
                return "Flatten";
            }
        };
    }

    /** Dropout that follows the training flag of the module that owns it. */
    public static Layer dropout(double p, Module owner) {
        return new Layer() {
            @Override
            public Tensor forward(Tensor x) {
                return p > 0 ? torch.dropout(x, p, owner.is_training()) : x;
            }

            @Override
            public <V> V trace(Tracer<V> t, V x) {
                return t.dropout(p, x);
            }

            @Override
            public String describe() {
                return "Dropout(" + p + ")";
            }
        };
    }
}
