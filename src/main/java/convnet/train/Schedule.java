package convnet.train;

import convnet.config.RunConfig;

/**
 * Learning rate as a function of training progress (epochs, fractional within an epoch): optional
 * linear warm-up, then constant, cosine annealing to {@code eta_min}, or step decay.
 */
public final class Schedule {
    private final RunConfig.Schedule c;
    private final double base;
    private final int epochs;

    public Schedule(RunConfig.Schedule c, double baseLr, int epochs) {
        this.c = c;
        this.base = baseLr;
        this.epochs = epochs;
    }

    /** The learning rate at {@code progress} epochs since the start (e.g. 2.5 = halfway through the third epoch). */
    public double lr(double progress) {
        if (c.warmupEpochs() > 0 && progress < c.warmupEpochs()) {
            return base * (progress + 1e-9) / c.warmupEpochs();
        }
        return switch (c.name()) {
            case "cosine" -> {
                double span = Math.max(1e-9, epochs - c.warmupEpochs());
                double t = Math.min(1, (progress - c.warmupEpochs()) / span);
                yield c.etaMin() + (base - c.etaMin()) * 0.5 * (1 + Math.cos(Math.PI * t));
            }
            case "step" -> base * Math.pow(c.gamma(), Math.floor(progress / c.stepSize()));
            default -> base;
        };
    }
}
