package convnet.train;

/**
 * A callback on the training loop; the loop knows nothing of what listeners do. A listener with state
 * across a resume implements {@link Stateful} too: {@link Trainer#listen} registers it.
 */
public interface TrainListener {
    /**
     * Where a training batch left the epoch: {@code epoch} (0-based) with {@code batch} of {@code batches} done,
     * and the running means of the epoch so far, {@code loss} and {@code acc}.
     */
    record BatchEnd(int epoch, int batch, int batches, double loss, double acc) {}

    default void onTrainStart(Trainer trainer) {}

    /** After each training batch, with the running means of the epoch so far. */
    default void onBatchEnd(Trainer trainer, BatchEnd b) {}

    /** During the validation at an epoch's end: {@code batch} of {@code batches} done. */
    default void onValidationBatch(Trainer trainer, int batch, int batches) {}

    default void onEpochEnd(Trainer trainer, EpochStats stats) {}

    /** The run was asked to stop (Ctrl-C) and left its epoch after {@link Trainer#batchInEpoch()} batches. */
    default void onStop(Trainer trainer) {}

    default void onTrainEnd(Trainer trainer) {}
}
