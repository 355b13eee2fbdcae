package convnet.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How far the current epoch has come: batches done and the running sums the epoch's figures are made
 * from. A mid-epoch checkpoint saves it, so that a resumed epoch reports the same loss and accuracy as
 * an uninterrupted one: the batch as the checkpoint's position, the sums as the component {@value #KEY}.
 */
public record EpochProgress(int batch, double lossSum, double correct, int seen, int skipped, double seconds) {
    public static final EpochProgress START = new EpochProgress(0, 0, 0, 0, 0, 0);

    /** The key of the running sums in a checkpoint's components. */
    public static final String KEY = "progress";

    public boolean midEpoch() {
        return batch > 0;
    }

    /** The running sums, as a checkpoint keeps them (the batch is the checkpoint's position). */
    public Map<String, Object> state() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("loss_sum", lossSum);
        s.put("correct", correct);
        s.put("seen", seen);
        s.put("skipped", skipped);
        s.put("seconds", seconds);
        return s;
    }

    /** The progress of {@code batch} batches with the running sums {@code s} (as {@link #state()} gives them). */
    public static EpochProgress of(int batch, Map<String, Object> s) {
        return new EpochProgress(
                batch,
                Stateful.number(s, "loss_sum"),
                Stateful.number(s, "correct"),
                (int) Stateful.integer(s, "seen"),
                (int) Stateful.integer(s, "skipped"),
                Stateful.number(s, "seconds"));
    }

    /** From format 1's {loss sum, correct, seen, skipped, seconds}. */
    static EpochProgress of(int batch, double[] sums) {
        if (sums == null || sums.length != 5) throw new IllegalArgumentException("expected five running sums");
        return new EpochProgress(batch, sums[0], sums[1], (int) sums[2], (int) sums[3], sums[4]);
    }
}
