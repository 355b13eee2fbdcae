package convnet.train;

import convnet.config.Word;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The optimizer's settings: {@code kind} sgd, adam or adamw ({@code momentum} and {@code nesterov} are SGD's,
 * {@code beta1} and {@code beta2} Adam's); {@code decayNormAndBias} false exempts BatchNorm/PReLU weights and biases
 * from weight decay; {@code pretrainedLrFactor} scales the rate of layers loaded from initial weights.
 */
public record OptimizerConfig(
        Kind kind,
        double lr,
        double momentum,
        boolean nesterov,
        double weightDecay,
        double beta1,
        double beta2,
        boolean decayNormAndBias,
        double pretrainedLrFactor) {

    /** {@code train.optimizer.name}. */
    public enum Kind implements Word {
        SGD,
        ADAM,
        ADAMW;

        @Override
        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Kind of(String word) {
            for (Kind k : values()) if (k.word().equals(word)) return k;
            throw new IllegalArgumentException("unknown optimizer " + word);
        }
    }

    /** For tests and benchmarks: the optimizer by its word, weight decay on every parameter, no pretrained factor. */
    public OptimizerConfig(
            String name, double lr, double momentum, boolean nesterov, double weightDecay, double beta1, double beta2) {
        this(Kind.of(name), lr, momentum, nesterov, weightDecay, beta1, beta2, true, 1);
    }

    /** The settings as {@code train.optimizer} reads them back, without those of the other kinds. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", kind.word());
        m.put("lr", lr);
        if (kind == Kind.SGD) {
            m.put("momentum", momentum);
            m.put("nesterov", nesterov);
        }
        m.put("weight_decay", weightDecay);
        if (kind != Kind.SGD) m.put("betas", List.of(beta1, beta2));
        m.put("decay_norm_and_bias", decayNormAndBias);
        m.put("pretrained_lr_factor", pretrainedLrFactor);
        return m;
    }
}
