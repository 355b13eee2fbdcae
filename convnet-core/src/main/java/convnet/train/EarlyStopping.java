package convnet.train;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Stops a run whose monitored metric has not improved by more than {@code minDelta} for more than
 * {@code patience} epochs (Keras's {@code EarlyStopping}). Its state is in every checkpoint, so a resumed
 * run counts on, and a run it stopped stays stopped.
 */
public final class EarlyStopping implements Stateful {
    private final Metric monitor;
    private final int patience;
    private final double minDelta;
    private double best = Double.NaN;
    private int bestEpoch, bad, stoppedAfter;

    public EarlyStopping(Metric monitor, int patience, double minDelta) {
        this.monitor = monitor;
        this.patience = patience;
        this.minDelta = minDelta;
    }

    /** Takes an epoch's figures; true when the run should stop now. */
    boolean update(EpochStats s) {
        double v = monitor.of(s);
        if (Double.isNaN(v)) return false;
        boolean improved = Double.isNaN(best) || (monitor.lowerIsBetter ? v < best - minDelta : v > best + minDelta);
        if (improved) {
            best = v;
            bestEpoch = s.epoch();
            bad = 0;
        } else if (++bad > patience) {
            stoppedAfter = s.epoch();
        }
        return stoppedAfter > 0;
    }

    /** The epoch after which it stopped the run, or 0. */
    public int stoppedAfter() {
        return stoppedAfter;
    }

    public String reason() {
        return String.format(
                Locale.ROOT,
                "%s did not improve by more than %s for %d epochs (best %.4f after epoch %d)",
                monitor.word,
                minDelta,
                bad,
                best,
                bestEpoch);
    }

    @Override
    public String stateKey() {
        return "early_stopping";
    }

    /** The best value and its epoch, the epochs without improvement since, and the epoch it stopped the run after. */
    @Override
    public Map<String, Object> state() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("best", best);
        s.put("best_epoch", bestEpoch);
        s.put("bad_epochs", bad);
        s.put("stopped_after", stoppedAfter);
        return s;
    }

    @Override
    public void restore(Map<String, Object> s) {
        best = Stateful.number(s, "best");
        bestEpoch = (int) Stateful.integer(s, "best_epoch");
        bad = (int) Stateful.integer(s, "bad_epochs");
        stoppedAfter = (int) Stateful.integer(s, "stopped_after");
    }
}
