package convnet.engine;

import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.LongArrayRef;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Small conversions between Java arrays and tensors. */
public final class Tensors {
    private Tensors() {}

    /** A float32 CPU tensor holding a copy of {@code data}. */
    public static Tensor fromFloats(float[] data, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != data.length) {
            throw new IllegalArgumentException(
                    "shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
        Tensor t = torch.empty(shape);
        t.data_ptr_float().put(data);
        return t;
    }

    /** An int64 CPU tensor holding a copy of {@code data}. */
    public static Tensor fromLongs(long[] data) {
        Tensor t = torch.empty(new long[] {data.length}, new TensorOptions(torch.ScalarType.Long), null);
        new LongPointer(t.data_ptr()).put(data);
        return t;
    }

    /** The values of a tensor as float32, in row-major (logical) order. */
    public static float[] toFloats(Tensor t) {
        Tensor c = t.to(torch.ScalarType.Float).contiguous();
        float[] out = new float[(int) c.numel()];
        FloatPointer p = c.data_ptr_float();
        p.get(out);
        return out;
    }

    public static long[] shape(Tensor t) {
        LongArrayRef sizes = t.sizes();
        long[] out = new long[(int) t.dim()];
        for (int i = 0; i < out.length; i++) out[i] = sizes.at(i);
        return out;
    }
}
