package convnet.train;

import convnet.config.Word;

/** A per-epoch figure that a run can rank checkpoints by, or a schedule can watch; it knows which way is better. */
public enum Metric implements Word {
    VAL_ACC("val_acc", false),
    VAL_LOSS("val_loss", true),
    VAL_TOP5("val_top5", false),
    TRAIN_ACC("train_acc", false),
    TRAIN_LOSS("train_loss", true),
    EMA_VAL_ACC("ema_val_acc", false),
    EMA_VAL_LOSS("ema_val_loss", true);

    public final String word;
    public final boolean lowerIsBetter;

    Metric(String word, boolean lowerIsBetter) {
        this.word = word;
        this.lowerIsBetter = lowerIsBetter;
    }

    @Override
    public String word() {
        return word;
    }

    /** Whether the figure comes from the validation set (NaN when a run has none). */
    public boolean needsValidation() {
        return word.contains("val_");
    }

    public double of(EpochStats s) {
        return switch (this) {
            case VAL_ACC -> s.valAcc();
            case VAL_LOSS -> s.valLoss();
            case VAL_TOP5 -> s.valTop5();
            case TRAIN_ACC -> s.trainAcc();
            case TRAIN_LOSS -> s.trainLoss();
            case EMA_VAL_ACC -> s.emaValAcc();
            case EMA_VAL_LOSS -> s.emaValLoss();
        };
    }

    /** Whether the figure is that of the averaged weights (so the model bundle takes them). */
    public boolean ofAverage() {
        return word.startsWith("ema_");
    }

    /** Whether {@code value} beats {@code best} (any value beats NaN, the "nothing yet"). */
    public boolean improves(double value, double best) {
        return Double.isNaN(best) || (lowerIsBetter ? value < best : value > best);
    }

    /** The sort key that puts the best first. */
    public double rankKey(double value) {
        return lowerIsBetter ? value : -value;
    }
}
