package convnet;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.Layer;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.bytedeco.pytorch.NoGradGuard;

/** Running ONNX models in ONNX Runtime and the same inputs through libtorch, for comparison. */
public final class OnnxRun {
    private OnnxRun() {}

    public static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    public static OrtSession session(byte[] model) throws OrtException {
        return ENV.createSession(model, options());
    }

    public static OrtSession session(Path model) throws OrtException {
        return ENV.createSession(model.toString(), options());
    }

    private static OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(2);
        o.setInterOpNumThreads(1);
        return o;
    }

    /** The graph's one output for {@code input} of {@code shape}, flattened. */
    public static float[] run(OrtSession s, float[] input, long... shape) throws OrtException {
        try (OnnxTensor t = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(input), shape);
                OrtSession.Result r = s.run(Map.of("input", t))) {
            OnnxTensor out = (OnnxTensor) r.get(0);
            FloatBuffer b = out.getFloatBuffer();
            float[] f = new float[b.remaining()];
            b.get(f);
            return f;
        }
    }

    /** libtorch's output of {@code layer} (in eval mode, without gradients) for the same input. */
    public static float[] torch(Layer layer, float[] input, long... shape) {
        return Scoped.call(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                return Tensors.toFloats(layer.forward(Tensors.fromFloats(input, shape)));
            }
        });
    }

    public static float[] normal(long seed, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        Random r = new Random(seed);
        float[] f = new float[(int) n];
        for (int i = 0; i < f.length; i++) f[i] = (float) r.nextGaussian();
        return f;
    }

    public static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError(a.length + " values against " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    public static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }
}
