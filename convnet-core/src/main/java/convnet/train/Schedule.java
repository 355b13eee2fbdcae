package convnet.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Learning rate over training. {@link #lr(double)} gives the rate at a point of progress (epochs,
 * fractional within an epoch); {@link #epochEnd} feeds the monitored metric to ReduceLROnPlateau.
 * Kinds: constant; cosine (one anneal over the run, or PyTorch's periodic CosineAnnealingLR with
 * {@code t_max}, or warm restarts); step; multistep; plateau — each after an optional
 * linear warm-up; onecycle ({@link ScheduleConfig}). The plateau state is small and saved with the checkpoint.
 */
public final class Schedule implements Stateful {
    private final ScheduleConfig c;
    private final double base;
    private final int epochs;

    // ReduceLROnPlateau state
    private double plateauLr;
    private double best = Double.NaN;
    private int badEpochs, cooldownLeft;

    public Schedule(ScheduleConfig c, double baseLr, int epochs) {
        this.c = c;
        this.base = baseLr;
        this.epochs = epochs;
        this.plateauLr = baseLr;
    }

    public double lr(double progress) {
        if (c.warmupEpochs() > 0 && progress < c.warmupEpochs()) {
            return base * (progress + 1e-9) / c.warmupEpochs();
        }
        return c instanceof ScheduleConfig.Plateau ? plateauLr : c.lr(base, progress, epochs);
    }

    /** Tells the schedule an epoch ended with {@code metric} (NaN when there is no validation). */
    public void epochEnd(int epoch, double metric) {
        if (!(c instanceof ScheduleConfig.Plateau p) || Double.isNaN(metric) || epoch < p.warmupEpochs()) return;
        boolean max = p.mode() == ScheduleConfig.Plateau.Mode.MAX;
        boolean better =
                Double.isNaN(best) || (max ? metric > best * (1 + p.threshold()) : metric < best * (1 - p.threshold()));
        if (better) {
            best = metric;
            badEpochs = 0;
        } else {
            badEpochs++;
        }
        if (cooldownLeft > 0) {
            cooldownLeft--;
            badEpochs = 0;
        }
        if (badEpochs > p.patience()) {
            plateauLr = Math.max(p.minLr(), plateauLr * p.factor());
            cooldownLeft = p.cooldown();
            badEpochs = 0;
        }
    }

    @Override
    public String stateKey() {
        return "schedule";
    }

    /** The plateau state: its learning rate, best metric, epochs without improvement and cooldown left. */
    @Override
    public Map<String, Object> state() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("lr", plateauLr);
        s.put("best", best);
        s.put("bad_epochs", badEpochs);
        s.put("cooldown_left", cooldownLeft);
        return s;
    }

    @Override
    public void restore(Map<String, Object> s) {
        plateauLr = Stateful.number(s, "lr");
        best = Stateful.number(s, "best");
        badEpochs = (int) Stateful.integer(s, "bad_epochs");
        cooldownLeft = (int) Stateful.integer(s, "cooldown_left");
    }

    @Override
    public String toString() {
        return c.name() + " " + state();
    }
}
