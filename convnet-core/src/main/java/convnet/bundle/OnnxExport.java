package convnet.bundle;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.UnsafeByteOperations;
import convnet.UserException;
import convnet.Version;
import convnet.bundle.onnx.OnnxProto.AttributeProto;
import convnet.bundle.onnx.OnnxProto.GraphProto;
import convnet.bundle.onnx.OnnxProto.ModelProto;
import convnet.bundle.onnx.OnnxProto.NodeProto;
import convnet.bundle.onnx.OnnxProto.OperatorSetIdProto;
import convnet.bundle.onnx.OnnxProto.StringStringEntryProto;
import convnet.bundle.onnx.OnnxProto.TensorProto;
import convnet.bundle.onnx.OnnxProto.TensorShapeProto;
import convnet.bundle.onnx.OnnxProto.TypeProto;
import convnet.bundle.onnx.OnnxProto.ValueInfoProto;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.io.AtomicFiles;
import convnet.model.Layer;
import convnet.model.Layers;
import convnet.model.Net;
import convnet.model.Tracer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * A network as an ONNX model (opset 17, float32, dynamic batch): the layers are walked through their own
 * {@link Layer#trace}, each operation becoming ONNX nodes (Conv, BatchNormalization, Relu, PRelu, MaxPool,
 * AveragePool or GlobalAveragePool, Flatten, Gemm, Add; dropout is left out, being the identity at inference),
 * with the weights as initializers named as in the state dict. With folding, a BatchNorm whose input is a
 * convolution's output and nothing else's is merged into that convolution's weights and bias; a BatchNorm after an
 * activation or a residual sum (pre-activation) stays a BatchNormalization node.
 */
public final class OnnxExport {
    private OnnxExport() {}

    public static final int OPSET = 17;
    /** ONNX IR version 8, the one that goes with opset 17 (ONNX 1.12). */
    public static final long IR_VERSION = 8;

    public static final String INPUT = "input", OUTPUT = "logits", BATCH = "batch";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The graph's input height and width, and whether to fold BatchNorm into the preceding convolution. */
    public record Options(int height, int width, boolean foldBatchNorm) {}

    /** What a graph holds: node counts by operator (in order of first use), BatchNorms folded, and the shapes in and out (batch as -1). */
    public record Summary(Map<String, Integer> ops, int foldedBatchNorms, long[] input, long[] output) {
        public int nodes() {
            return ops.values().stream().mapToInt(Integer::intValue).sum();
        }

        public int count(String op) {
            return ops.getOrDefault(op, 0);
        }
    }

    /** An ONNX model and its summary. */
    public record Graph(ModelProto model, Summary summary) {}

    /**
     * Exports the bundle's network (with whichever weights {@code net} holds) to {@code out}, atomically, at the bundle's
     * input size; {@code weights} says which weights those are, for the metadata.
     */
    public static Summary write(Path out, Net net, ModelBundle bundle, String weights, boolean foldBatchNorm) {
        Graph g = graph(
                net,
                3,
                new Options(bundle.imageSize(), bundle.imageSize(), foldBatchNorm),
                metadata(bundle, weights, foldBatchNorm));
        AtomicFiles.writeAtomically(out, g.model()::writeTo);
        return g.summary();
    }

    /**
     * What a consumer needs to use the model without convnet, as the model bundle's {@code model.json} has it: class
     * names, input size, normalisation, evaluation transforms (JSON where not a single value), model name and
     * architecture, convnet's version.
     */
    public static Map<String, String> metadata(ModelBundle bundle, String weights, boolean foldBatchNorm) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", bundle.spec().name());
        m.put("architecture", json(bundle.spec().toMap()));
        m.put("classes", json(bundle.classes()));
        m.put("image_size", String.valueOf(bundle.imageSize()));
        m.put("mean", json(floats(bundle.mean())));
        m.put("std", json(floats(bundle.std())));
        m.put("eval_transforms", json(bundle.evalTransforms().toList()));
        m.put(
                "preprocessing",
                "decode as RGB, apply eval_transforms, scale to 0..1 (value/255), subtract mean and divide by std per"
                        + " channel, lay out as float32 [batch, 3, image_size, image_size]; the output is logits, one per"
                        + " class (softmax gives probabilities)");
        m.put("weights", weights);
        m.put("batchnorm_folded", String.valueOf(foldBatchNorm));
        m.put("convnet_version", Version.VERSION);
        return m;
    }

    private static List<Double> floats(float[] f) {
        List<Double> out = new ArrayList<>();
        for (float v : f) out.add(Double.valueOf(Float.toString(v))); // 0.485, not 0.48500001430511475
        return out;
    }

    private static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The ONNX model of {@code layer} (a whole network or any traceable part) for inputs {@code [batch, channels,
     * height, width]}; its output is named {@code logits}. A layer that cannot be exported, or an input size the
     * network cannot take, is a {@link UserException} naming the layer.
     */
    public static Graph graph(Layer layer, int channels, Options o, Map<String, String> metadata) {
        if (o.height() < 1 || o.width() < 1)
            throw new UserException("cannot export for an input of " + o.height() + "×" + o.width());
        Builder b = new Builder();
        Value out = Scoped.call(() -> {
            try {
                return layer.trace(b, new Value(INPUT, new long[] {channels, o.height(), o.width()}));
            } catch (Tracer.Untraceable u) {
                throw b.cannot(u);
            }
        });
        int folded = o.foldBatchNorm() ? b.foldBatchNorms(out.name) : 0;
        String outName = b.nameOutput(out.name);
        b.dropUnusedInitializers();

        GraphProto.Builder g = GraphProto.newBuilder()
                .setName(metadata.getOrDefault("model", "convnet"))
                .addInput(valueInfo(INPUT, new long[] {channels, o.height(), o.width()}))
                .addOutput(valueInfo(outName, out.shape));
        Map<String, Integer> ops = new LinkedHashMap<>();
        for (Node n : b.nodes) {
            g.addNode(n.proto());
            ops.merge(n.op, 1, Integer::sum);
        }
        long bytes = 0;
        for (Init i : b.inits.values()) bytes += 4L * i.data.length;
        if (bytes
                > Integer.MAX_VALUE - (64L << 20)) // protobuf's limit; no convnet model comes near it (VGG-19: 548 MB)
        throw new UserException("the model's weights take " + (bytes >> 20)
                + " MB; an ONNX file without external data holds at most 2 GB");
        for (Map.Entry<String, Init> e : b.inits.entrySet())
            g.addInitializer(e.getValue().proto(e.getKey()));
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setProducerName("convnet")
                .setProducerVersion(Version.VERSION)
                .setGraph(g);
        metadata.forEach((k, v) ->
                m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        long[] in = {-1, channels, o.height(), o.width()};
        long[] outShape = new long[out.shape.length + 1];
        outShape[0] = -1;
        System.arraycopy(out.shape, 0, outShape, 1, out.shape.length);
        return new Graph(m.build(), new Summary(ops, folded, in, outShape));
    }

    private static ValueInfoProto valueInfo(String name, long[] shape) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder()
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(BATCH));
        for (long d : shape) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return ValueInfoProto.newBuilder()
                .setName(name)
                .setType(TypeProto.newBuilder()
                        .setTensorType(TypeProto.Tensor.newBuilder()
                                .setElemType(TensorProto.DataType.FLOAT_VALUE)
                                .setShape(s)))
                .build();
    }

    /** A value in the graph: its name and its shape without the batch dimension. */
    record Value(String name, long[] shape) {}

    /** A constant: its shape and float32 values. */
    record Init(long[] shape, float[] data) {
        TensorProto proto(String name) {
            ByteBuffer raw = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
            raw.asFloatBuffer().put(data);
            TensorProto.Builder t = TensorProto.newBuilder()
                    .setName(name)
                    .setDataType(TensorProto.DataType.FLOAT_VALUE)
                    .setRawData(UnsafeByteOperations.unsafeWrap(raw.array())); // not copied again
            for (long d : shape) t.addDims(d);
            return t.build();
        }
    }

    /** A node under construction (folding rewires inputs and outputs before the protos are made). */
    static final class Node {
        final String op, name, doc;
        final List<String> inputs, outputs;
        final List<AttributeProto> attributes = new ArrayList<>();

        Node(String op, String name, String doc, List<String> inputs, List<String> outputs) {
            this.op = op;
            this.name = name;
            this.doc = doc;
            this.inputs = new ArrayList<>(inputs);
            this.outputs = new ArrayList<>(outputs);
        }

        Node ints(String key, long... values) {
            AttributeProto.Builder a =
                    AttributeProto.newBuilder().setName(key).setType(AttributeProto.AttributeType.INTS);
            for (long v : values) a.addInts(v);
            attributes.add(a.build());
            return this;
        }

        Node integer(String key, long value) {
            attributes.add(AttributeProto.newBuilder()
                    .setName(key)
                    .setType(AttributeProto.AttributeType.INT)
                    .setI(value)
                    .build());
            return this;
        }

        Node real(String key, float value) {
            attributes.add(AttributeProto.newBuilder()
                    .setName(key)
                    .setType(AttributeProto.AttributeType.FLOAT)
                    .setF(value)
                    .build());
            return this;
        }

        NodeProto proto() {
            NodeProto.Builder n = NodeProto.newBuilder()
                    .setOpType(op)
                    .setName(name)
                    .addAllInput(inputs)
                    .addAllOutput(outputs)
                    .addAllAttribute(attributes);
            if (doc != null) n.setDocString(doc);
            return n.build();
        }
    }

    /** Turns a trace into nodes and initializers, checking shapes as it goes. */
    static final class Builder implements Tracer<Value> {
        final List<Node> nodes = new ArrayList<>();
        final Map<String, Init> inits = new LinkedHashMap<>();
        private final Deque<String> path = new ArrayDeque<>();
        private final Deque<Layer> layers = new ArrayDeque<>();
        private final Map<String, Integer> names = new HashMap<>();

        @Override
        public Value child(String name, Layer layer, Value x) {
            path.addLast(name);
            layers.addLast(layer);
            try {
                return layer.trace(this, x);
            } catch (Tracer.Untraceable u) {
                throw cannot(u);
            } finally {
                path.removeLast();
                layers.removeLast();
            }
        }

        UserException cannot(Tracer.Untraceable u) {
            return new UserException("cannot export layer " + (path.isEmpty() ? "(the whole model)" : where()) + " ("
                    + u.layer.describe() + ") to ONNX: it does not describe its computation (Layer.trace)");
        }

        private String where() {
            return String.join(".", path);
        }

        private UserException error(String what) {
            String layer = layers.isEmpty() ? "" : " (" + layers.getLast().describe() + ")";
            return new UserException(
                    "cannot export layer " + (path.isEmpty() ? "(the whole model)" : where()) + layer + ": " + what);
        }

        private String prefix() {
            return path.isEmpty() ? "" : where() + ".";
        }

        private String nodeName(String op) {
            String base = path.isEmpty() ? op : where() + "/" + op;
            int n = names.merge(base, 1, Integer::sum);
            return n == 1 ? base : base + "_" + (n - 1);
        }

        private String constant(String name, Tensor t, long... shape) {
            float[] data = Tensors.toFloats(t);
            return constant(name, data, shape.length > 0 ? shape : Tensors.shape(t));
        }

        private String constant(String name, float[] data, long[] shape) {
            if (inits.containsKey(name)) throw new IllegalStateException("two initializers named " + name);
            inits.put(name, new Init(shape, data));
            return name;
        }

        private Node node(String op, String... inputs) {
            String name = nodeName(op);
            Node n = new Node(
                    op, name, layers.isEmpty() ? null : layers.getLast().describe(), List.of(inputs), List.of(name));
            nodes.add(n);
            return n;
        }

        private Value last(long[] shape) {
            return new Value(nodes.get(nodes.size() - 1).outputs.get(0), shape);
        }

        private void requireMap(Value x, int channels) {
            if (x.shape.length != 3)
                throw error("expects a [batch, channels, height, width] input, got [batch, " + join(x.shape) + "]");
            if (x.shape[0] != channels) throw error("expects " + channels + " input channels, got " + x.shape[0]);
        }

        private static String join(long[] shape) {
            return Arrays.toString(shape).replaceAll("[\\[\\]]", "");
        }

        private long[] window(Value x, int kernel, int stride, int padding) {
            long h = (x.shape[1] + 2L * padding - kernel) / stride + 1;
            long w = (x.shape[2] + 2L * padding - kernel) / stride + 1;
            if (x.shape[1] + 2L * padding < kernel || x.shape[2] + 2L * padding < kernel || h < 1 || w < 1)
                throw error("its " + x.shape[1] + "×" + x.shape[2]
                        + " input map is smaller than its window; export for a larger input size");
            return new long[] {h, w};
        }

        @Override
        public Value conv(Layers.Conv2d c, Value x) {
            requireMap(x, c.in);
            long[] hw = window(x, c.kernel, c.stride, c.padding);
            String w = constant(prefix() + "weight", c.weight);
            long[] shape = {c.out, hw[0], hw[1]};
            if (c.bias == null) node("Conv", x.name, w);
            else node("Conv", x.name, w, constant(prefix() + "bias", c.bias));
            nodes.get(nodes.size() - 1)
                    .ints("kernel_shape", c.kernel, c.kernel)
                    .ints("strides", c.stride, c.stride)
                    .ints("pads", c.padding, c.padding, c.padding, c.padding)
                    .ints("dilations", 1, 1)
                    .integer("group", 1);
            return last(shape);
        }

        @Override
        public Value batchNorm(Layers.BatchNorm2d bn, Value x) {
            requireMap(x, bn.channels);
            String p = prefix();
            node(
                            "BatchNormalization",
                            x.name,
                            constant(p + "weight", bn.weight),
                            constant(p + "bias", bn.bias),
                            constant(p + "running_mean", bn.runningMean),
                            constant(p + "running_var", bn.runningVar))
                    .real("epsilon", (float) Layers.BatchNorm2d.EPS);
            return last(x.shape);
        }

        @Override
        public Value linear(Layers.Linear l, Value x) {
            if (x.shape.length != 1)
                throw error("expects flat [batch, features] input, got [batch, " + join(x.shape) + "]");
            if (x.shape[0] != l.in) throw error("expects " + l.in + " input features, got " + x.shape[0]);
            node("Gemm", x.name, constant(prefix() + "weight", l.weight), constant(prefix() + "bias", l.bias))
                    .integer("transB", 1);
            return last(new long[] {l.out});
        }

        @Override
        public Value prelu(Layers.PReLU p, Value x) {
            if (x.shape[0] != p.channels) throw error("has " + p.channels + " slopes for " + x.shape[0] + " channels");
            // ONNX broadcasts the slope from the last dimension: [C, 1, 1] for a map, [C] for flat features
            long[] slopeShape = x.shape.length == 3 ? new long[] {p.channels, 1, 1} : new long[] {p.channels};
            node("PRelu", x.name, constant(prefix() + "weight", p.weight, slopeShape));
            return last(x.shape);
        }

        @Override
        public Value relu(Value x) {
            node("Relu", x.name);
            return last(x.shape);
        }

        @Override
        public Value maxPool(int kernel, int stride, int padding, Value x) {
            requireMap(x, (int) x.shape[0]);
            long[] hw = window(x, kernel, stride, padding);
            long[] shape = {x.shape[0], hw[0], hw[1]};
            node("MaxPool", x.name)
                    .ints("kernel_shape", kernel, kernel)
                    .ints("strides", stride, stride)
                    .ints("pads", padding, padding, padding, padding);
            return last(shape);
        }

        /**
         * libtorch's adaptive average pool: output cell i averages input rows floor(i·H/s) to ceil((i+1)·H/s). One
         * global average, or equal windows when s divides the size, are pooling nodes; any other size (a map smaller
         * than s, or windows that overlap) is exactly two MatMuls by averaging matrices.
         */
        @Override
        public Value adaptiveAvgPool(int size, Value x) {
            requireMap(x, (int) x.shape[0]);
            long c = x.shape[0], h = x.shape[1], w = x.shape[2];
            long[] shape = {c, size, size};
            if (size == 1) {
                node("GlobalAveragePool", x.name);
                return last(shape);
            }
            if (h == size && w == size) return x; // nothing to average
            if (h % size == 0 && w % size == 0) {
                node("AveragePool", x.name)
                        .ints("kernel_shape", h / size, w / size)
                        .ints("strides", h / size, w / size);
                return last(shape);
            }
            String cols = constant(
                    prefix() + "average_columns",
                    transpose(averaging(size, (int) w), size, (int) w),
                    new long[] {w, size});
            node("MatMul", x.name, cols);
            String half = nodes.get(nodes.size() - 1).outputs.get(0);
            String rows = constant(prefix() + "average_rows", averaging(size, (int) h), new long[] {size, h});
            node("MatMul", rows, half);
            return last(shape);
        }

        /** The [out, in] matrix whose row i averages libtorch's adaptive-pool window i. */
        static float[] averaging(int out, int in) {
            float[] a = new float[out * in];
            for (int i = 0; i < out; i++) {
                int start = (int) Math.floor((double) i * in / out);
                int end = (int) Math.ceil((double) (i + 1) * in / out);
                for (int j = start; j < end; j++) a[i * in + j] = 1f / (end - start);
            }
            return a;
        }

        static float[] transpose(float[] a, int rows, int cols) {
            float[] t = new float[a.length];
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
            return t;
        }

        @Override
        public Value flatten(Value x) {
            long n = 1;
            for (long d : x.shape) n *= d;
            node("Flatten", x.name).integer("axis", 1);
            return last(new long[] {n});
        }

        @Override
        public Value add(Value a, Value b) {
            if (!Arrays.equals(a.shape, b.shape))
                throw error("adds [" + join(a.shape) + "] to [" + join(b.shape) + "]");
            node("Add", a.name, b.name);
            return last(a.shape);
        }

        private Map<String, Integer> uses() {
            Map<String, Integer> uses = new HashMap<>();
            for (Node n : nodes) for (String in : n.inputs) uses.merge(in, 1, Integer::sum);
            return uses;
        }

        /**
         * Folds each BatchNorm whose input is a convolution's output, used by nothing else, into that convolution:
         * W' = W·γ/√(σ²+ε) per output channel, b' = (b − μ)·γ/√(σ²+ε) + β, computed in double precision. Returns how
         * many were folded.
         */
        int foldBatchNorms(String graphOutput) {
            Map<String, Integer> uses = uses();
            Map<String, Node> producer = new HashMap<>();
            for (Node n : nodes) producer.put(n.outputs.get(0), n);
            int folded = 0;
            for (Node bn : new ArrayList<>(nodes)) {
                if (!bn.op.equals("BatchNormalization")) continue;
                String in = bn.inputs.get(0);
                Node conv = producer.get(in);
                if (conv == null || !conv.op.equals("Conv") || uses.getOrDefault(in, 0) != 1 || in.equals(graphOutput))
                    continue;
                float[] w = inits.get(conv.inputs.get(1)).data;
                long[] wShape = inits.get(conv.inputs.get(1)).shape;
                int out = (int) wShape[0], per = w.length / out;
                float[] bias = conv.inputs.size() > 2 ? inits.get(conv.inputs.get(2)).data : new float[out];
                float[] gamma = inits.get(bn.inputs.get(1)).data, beta = inits.get(bn.inputs.get(2)).data;
                float[] mean = inits.get(bn.inputs.get(3)).data, var = inits.get(bn.inputs.get(4)).data;
                float[] w2 = new float[w.length], b2 = new float[out];
                for (int o = 0; o < out; o++) {
                    double s = gamma[o] / Math.sqrt((double) var[o] + Layers.BatchNorm2d.EPS);
                    for (int i = 0; i < per; i++) w2[o * per + i] = (float) (w[o * per + i] * s);
                    b2[o] = (float) ((bias[o] - (double) mean[o]) * s + beta[o]);
                }
                String data = conv.inputs.get(0), base = conv.inputs.get(1).replaceAll("\\.weight$", "");
                String wName = constant(base + ".weight_bn_folded", w2, wShape);
                String bName = constant(base + ".bias_bn_folded", b2, new long[] {out});
                conv.inputs.clear();
                conv.inputs.addAll(List.of(data, wName, bName));
                conv.outputs.set(0, bn.outputs.get(0));
                nodes.remove(bn);
                folded++;
            }
            return folded;
        }

        /** Names the graph's output {@code logits}: the node that makes it is renamed, or an Identity added. */
        String nameOutput(String out) {
            if (out.equals(OUTPUT)) return out;
            Node maker = null;
            for (Node n : nodes) if (n.outputs.get(0).equals(out)) maker = n;
            if (maker == null || uses().containsKey(out)) {
                nodes.add(new Node("Identity", OUTPUT, null, List.of(out), List.of(OUTPUT)));
            } else {
                maker.outputs.set(0, OUTPUT);
            }
            return OUTPUT;
        }

        void dropUnusedInitializers() {
            Map<String, Integer> uses = uses();
            inits.keySet().removeIf(name -> !uses.containsKey(name));
        }
    }
}
