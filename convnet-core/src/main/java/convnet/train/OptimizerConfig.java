package convnet.train;

/**
 * The optimizer's settings: {@code name} sgd, adam or adamw; {@code decayNormAndBias} false exempts
 * BatchNorm/PReLU weights and biases from weight decay; {@code pretrainedLrFactor} scales the rate of
 * layers loaded from initial weights.
 */
public record OptimizerConfig(
        String name,
        double lr,
        double momentum,
        boolean nesterov,
        double weightDecay,
        double beta1,
        double beta2,
        boolean decayNormAndBias,
        double pretrainedLrFactor) {
    public OptimizerConfig(
            String name, double lr, double momentum, boolean nesterov, double weightDecay, double beta1, double beta2) {
        this(name, lr, momentum, nesterov, weightDecay, beta1, beta2, true, 1);
    }
}
