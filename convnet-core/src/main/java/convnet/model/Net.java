package convnet.model;

import java.util.Collection;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringSharedModuleDict;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * A whole classifier: a chain of named parts ({@code features}, {@code avgpool}, {@code classifier}
 * for VGG; {@code stem}, {@code layer1}..., {@code fc} for ResNet) plus the spec that built it.
 */
public final class Net extends Sequential {
    private final ModelSpec spec;

    Net(ModelSpec spec) {
        this.spec = spec;
    }

    /**
     * Stores every 4-D weight in channels-last (NHWC) order, which oneDNN's convolutions run faster on;
     * inputs should then be channels-last too. Values and names are unchanged.
     */
    public void toChannelsLast() {
        TensorVector ps = parameters();
        for (long i = 0; i < ps.size(); i++) {
            Tensor t = ps.get(i);
            if (t.dim() == 4) t.set_data(t.contiguous(torch.MemoryFormat.ChannelsLast));
        }
    }

    /**
     * Puts the named layers ({@code layer1.0.bn1}, as {@link ParamGroups#batchNorms} gives them) in evaluation mode,
     * leaving the rest as they are: after {@code train(true)}, BatchNorm layers of a frozen part keep their running
     * statistics and normalise with them. Call outside a PointerScope or inside one, either works.
     */
    public void evalOnly(Collection<String> layers) {
        if (layers.isEmpty()) return;
        StringSharedModuleDict modules = named_modules();
        StringVector names = modules.keys();
        for (long i = 0; i < names.size(); i++) {
            BytePointer key = names.get(i); // null for the root's empty name
            if (key != null && layers.contains(key.getString()))
                modules.get(key.getString()).train(false);
        }
    }

    public ModelSpec spec() {
        return spec;
    }

    public int numClasses() {
        return spec.numClasses();
    }

    /** Total number of parameter values (trainable and not). */
    public long parameterCount() {
        return countValues(parameters());
    }

    public long trainableParameterCount() {
        long n = 0;
        TensorVector ps = parameters();
        for (long i = 0; i < ps.size(); i++) {
            Tensor t = ps.get(i);
            if (t.requires_grad()) n += t.numel();
        }
        return n;
    }

    static long countValues(TensorVector tensors) {
        long n = 0;
        for (long i = 0; i < tensors.size(); i++) {
            n += tensors.get(i).numel();
        }
        return n;
    }

    static long parameterCount(Module m) {
        return countValues(m.parameters());
    }
}
