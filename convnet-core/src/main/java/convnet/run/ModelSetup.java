package convnet.run;

import convnet.UserException;
import convnet.model.Net;
import convnet.model.ParamGroups;
import convnet.model.PreActResNet;
import convnet.train.Optimizers;
import convnet.weights.Pretrained;
import convnet.weights.StateDict;
import convnet.weights.Weights;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
 * PointerScope. {@code pretrained} names the tensors loaded from the initial weights; {@code frozen} the parameters
 * {@code train.freeze} holds fixed and {@code frozenNorms} the BatchNorm layers among them, whose statistics stay fixed.
 */
record ModelSetup(
        Net net,
        Optimizer optimizer,
        double[] lrFactors,
        Set<String> pretrained,
        Set<String> frozen,
        Set<String> frozenNorms) {
    private static final Logger log = LoggerFactory.getLogger(TrainingRun.class);

    static ModelSetup build(RunConfig config, int numClasses) {
        RunConfig.Model m = config.model();
        Net net = m.spec(numClasses).build(config.seed());
        Set<String> pretrained = Set.of();
        if (m.weights() != null) {
            if (m.pretrained() != null && !Files.isRegularFile(m.weights())) {
                log.info(
                        "downloading torchvision's {} weights into {}",
                        m.pretrained(),
                        m.weights().getParent());
                Pretrained.fetch(m.pretrained(), null);
            }
            pretrained = new LinkedHashSet<>(Weights.load(m.weights(), net, m.dropHead()));
            log.info(
                    "initial weights: {} tensors from {}{}",
                    pretrained.size(),
                    m.weights(),
                    m.dropHead() ? " (its last layer left out: new head " + Weights.headPrefix(net) + ")" : "");
        }
        if (m.zeroLast() && m.weights() == null) {
            int n = PreActResNet.zeroLastInResidualBranches(net);
            log.info("the last layer of {} residual branches starts at zero", n);
        }
        RunConfig.Train t = config.train();
        Set<String> frozen = new LinkedHashSet<>();
        for (String word : t.freeze()) frozen.addAll(select(net, "train.freeze", word, pretrained));
        Map<String, Double> factors = new LinkedHashMap<>();
        for (String name : ParamGroups.parameterNames(net))
            if (pretrained.contains(name)) factors.put(name, t.optimizer().pretrainedLrFactor());
        for (Map.Entry<String, Double> e : t.lrFactors().entrySet())
            for (String name : select(net, "train.lr_factors", e.getKey(), pretrained)) factors.put(name, e.getValue());
        Optimizers.Built built = Optimizers.create(t.optimizer(), net, factors);
        return new ModelSetup(
                net, built.optimizer(), built.lrFactors(), pretrained, frozen, ParamGroups.batchNorms(net, frozen));
    }

    private static Set<String> select(Net net, String key, String word, Set<String> pretrained) {
        try {
            return ParamGroups.select(net, word, pretrained);
        } catch (UserException e) {
            throw new UserException(key + ": " + e.getMessage());
        }
    }

    /** The parameters {@code train.freeze} holds fixed, as live handles. */
    List<Tensor> frozenTensors() {
        Map<String, Tensor> sd = StateDict.of(net);
        List<Tensor> out = new ArrayList<>();
        for (String n : frozen) out.add(sd.get(n));
        return out;
    }
}
