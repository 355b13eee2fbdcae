package convnet.run;

import convnet.model.Net;
import convnet.train.Optimizers;
import convnet.weights.StateDict;
import convnet.weights.Weights;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The network (with its initial weights, if any) and its optimizer. Long-lived: made outside any
 * PointerScope. {@code pretrained} names the tensors loaded from the initial weights.
 */
record ModelSetup(Net net, Optimizer optimizer, double[] lrFactors, Set<String> pretrained) {
    private static final Logger log = LoggerFactory.getLogger(TrainingRun.class);

    static ModelSetup build(RunConfig config, int numClasses) {
        RunConfig.Model m = config.model();
        Net net = m.spec(numClasses).build(config.seed());
        Set<String> pretrained = Set.of();
        if (m.weights() != null) {
            if (m.pretrained() != null && !java.nio.file.Files.isRegularFile(m.weights())) {
                log.info(
                        "downloading torchvision's {} weights into {}",
                        m.pretrained(),
                        m.weights().getParent());
                convnet.weights.Pretrained.fetch(m.pretrained(), null);
            }
            pretrained = new LinkedHashSet<>(Weights.load(m.weights(), net, m.dropHead()));
            log.info(
                    "initial weights: {} tensors from {}{}",
                    pretrained.size(),
                    m.weights(),
                    m.dropHead() ? " (its last layer left out: new head " + Weights.headPrefix(net) + ")" : "");
        }
        if (m.zeroLast() && m.weights() == null) {
            int n = convnet.model.PreActResNet.zeroLastInResidualBranches(net);
            log.info("the last layer of {} residual branches starts at zero", n);
        }
        Optimizers.Built built = Optimizers.create(config.train().optimizer(), net, pretrained);
        return new ModelSetup(net, built.optimizer(), built.lrFactors(), pretrained);
    }

    /** The pretrained tensors, to hold fixed for the first {@code train.freeze_epochs} epochs. */
    List<Tensor> pretrainedTensors() {
        Map<String, Tensor> sd = StateDict.of(net);
        List<Tensor> out = new ArrayList<>();
        var params = net.named_parameters(true);
        for (long i = 0; i < params.size(); i++) {
            String n = params.get(i).key().getString();
            if (pretrained.contains(n)) out.add(sd.get(n));
        }
        return out;
    }
}
