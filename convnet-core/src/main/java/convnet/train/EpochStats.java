package convnet.train;

/** What one epoch produced; validation fields are NaN when there is no validation set. */
public record EpochStats(
        int epoch,
        double lr,
        double trainLoss,
        double trainAcc,
        double valLoss,
        double valAcc,
        double valTop5,
        double seconds,
        long step,
        int skipped,
        double emaValLoss,
        double emaValAcc) {
    /** Without an average of the weights: its figures NaN. */
    public EpochStats(
            int epoch,
            double lr,
            double trainLoss,
            double trainAcc,
            double valLoss,
            double valAcc,
            double valTop5,
            double seconds,
            long step,
            int skipped) {
        this(epoch, lr, trainLoss, trainAcc, valLoss, valAcc, valTop5, seconds, step, skipped, Double.NaN, Double.NaN);
    }
}
