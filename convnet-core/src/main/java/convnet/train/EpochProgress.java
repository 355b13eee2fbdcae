package convnet.train;

/**
 * How far the current epoch has come: batches done and the running sums the epoch's figures are made
 * from. A mid-epoch checkpoint saves it, so that a resumed epoch reports the same loss and accuracy as
 * an uninterrupted one.
 */
public record EpochProgress(int batch, double lossSum, double correct, int seen, int skipped, double seconds) {
    public static final EpochProgress START = new EpochProgress(0, 0, 0, 0, 0, 0);

    public boolean midEpoch() {
        return batch > 0;
    }

    /** The checkpoint's form: {loss sum, correct, seen, skipped, seconds} (the batch is stored beside it). */
    public double[] sums() {
        return new double[] {lossSum, correct, seen, skipped, seconds};
    }

    public static EpochProgress of(int batch, double[] sums) {
        if (sums == null || sums.length != 5) throw new IllegalArgumentException("expected five running sums");
        return new EpochProgress(batch, sums[0], sums[1], (int) sums[2], (int) sums[3], sums[4]);
    }
}
