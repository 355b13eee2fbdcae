package convnet.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OptimizerOptions;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * libtorch's own optimizers, made from the config, with parameter groups: pretrained layers can
 * take a fraction of the learning rate, and BatchNorm / PReLU weights and biases can be exempt from
 * weight decay. Create outside any PointerScope: they live for the run.
 */
public final class Optimizers {
    private Optimizers() {}

    /** An optimizer and, per parameter group, the factor applied to the scheduled learning rate. */
    public record Built(Optimizer optimizer, double[] lrFactors) {}

    public static Optimizer create(OptimizerConfig c, Module net) {
        return create(c, net, Set.of()).optimizer();
    }

    /** Layers loaded from initial weights ({@code pretrained}) take {@code pretrainedLrFactor} of the rate. */
    public static Built create(OptimizerConfig c, Module net, Set<String> pretrained) {
        Map<String, Double> factors = new LinkedHashMap<>();
        if (c.pretrainedLrFactor() != 1) for (String name : pretrained) factors.put(name, c.pretrainedLrFactor());
        return create(c, net, factors);
    }

    /**
     * One parameter group per learning-rate factor (and weight-decay exemption), in the order the parameters first
     * appear: {@code factors} maps parameter names to their factor on the scheduled rate, 1 where absent.
     */
    public static Built create(OptimizerConfig c, Module net, Map<String, Double> factors) {
        Map<String, List<Tensor>> groups = new LinkedHashMap<>();
        Map<String, double[]> settings = new LinkedHashMap<>(); // {lr factor, weight decay}
        StringTensorDict params = net.named_parameters(true);
        for (long i = 0; i < params.size(); i++) {
            String name = params.get(i).key().getString();
            Tensor t = new Tensor(params.get(i).value());
            double factor = factors.getOrDefault(name, 1.0);
            boolean noDecay = !c.decayNormAndBias() && t.dim() <= 1;
            String key = factor + (noDecay ? "-nodecay" : "");
            groups.computeIfAbsent(key, k -> new ArrayList<>()).add(t);
            settings.put(key, new double[] {factor, noDecay ? 0 : c.weightDecay()});
        }
        Optimizer opt = null;
        double[] groupFactors = new double[groups.size()];
        int g = 0;
        for (Map.Entry<String, List<Tensor>> e : groups.entrySet()) {
            double[] s = settings.get(e.getKey());
            groupFactors[g++] = s[0];
            TensorVector tensors = new TensorVector(e.getValue().toArray(new Tensor[0]));
            OptimizerOptions options = options(c, c.lr() * s[0], s[1]);
            if (opt == null) {
                opt = switch (c.kind()) {
                    case SGD -> new SGD(tensors, (SGDOptions) options);
                    case ADAM -> new Adam(tensors, (AdamOptions) options);
                    case ADAMW -> new AdamW(tensors, (AdamWOptions) options);
                };
            } else {
                opt.add_param_group(new OptimizerParamGroup(tensors, options));
            }
        }
        return new Built(opt, groupFactors);
    }

    private static OptimizerOptions options(OptimizerConfig c, double lr, double weightDecay) {
        return switch (c.kind()) {
            case SGD -> {
                SGDOptions o = new SGDOptions(lr);
                o.momentum().put(c.momentum());
                o.nesterov().put(c.nesterov());
                o.weight_decay().put(weightDecay);
                yield o;
            }
            case ADAM -> {
                AdamOptions o = new AdamOptions(lr);
                o.betas().put(0, c.beta1()).put(1, c.beta2());
                o.weight_decay().put(weightDecay);
                yield o;
            }
            case ADAMW -> {
                AdamWOptions o = new AdamWOptions(lr);
                o.betas().put(0, c.beta1()).put(1, c.beta2());
                o.weight_decay().put(weightDecay);
                yield o;
            }
        };
    }

    /** Sets every group's learning rate to {@code lr} times its factor. */
    public static void setLr(Optimizer opt, double lr, double[] factors) {
        OptimizerParamGroupVector groups = opt.param_groups();
        for (long i = 0; i < groups.size(); i++)
            groups.get(i).options().set_lr(lr * (i < factors.length ? factors[(int) i] : 1));
    }
}
