package convnet.train;

import convnet.config.RunConfig;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;

/** libtorch's own optimizers, made from the config. Create outside any PointerScope: they live for the run. */
public final class Optimizers {
    private Optimizers() {}

    public static Optimizer create(RunConfig.Optimizer c, Module net) {
        switch (c.name()) {
            case "sgd" -> {
                SGDOptions o = new SGDOptions(c.lr());
                o.momentum().put(c.momentum());
                o.nesterov().put(c.nesterov());
                o.weight_decay().put(c.weightDecay());
                return new SGD(net.parameters(), o);
            }
            case "adam" -> {
                AdamOptions o = new AdamOptions(c.lr());
                o.betas().put(0, c.beta1()).put(1, c.beta2());
                o.weight_decay().put(c.weightDecay());
                return new Adam(net.parameters(), o);
            }
            case "adamw" -> {
                AdamWOptions o = new AdamWOptions(c.lr());
                o.betas().put(0, c.beta1()).put(1, c.beta2());
                o.weight_decay().put(c.weightDecay());
                return new AdamW(net.parameters(), o);
            }
            default -> throw new IllegalArgumentException("unknown optimizer " + c.name());
        }
    }

    public static void setLr(Optimizer opt, double lr) {
        OptimizerParamGroupVector groups = opt.param_groups();
        for (long i = 0; i < groups.size(); i++) groups.get(i).options().set_lr(lr);
    }
}
