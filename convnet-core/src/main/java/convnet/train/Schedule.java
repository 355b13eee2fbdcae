package convnet.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Learning rate over training. {@link #lr(double)} gives the rate at a point of progress (epochs,
 * fractional within an epoch); {@link #epochEnd} feeds the monitored metric to ReduceLROnPlateau.
 * Kinds: constant; cosine (one anneal over the run, or PyTorch's periodic CosineAnnealingLR with
 * {@code t_max}, or warm restarts); step; multistep; plateau; onecycle — each after an optional
 * linear warm-up. The plateau state is small and saved with the checkpoint.
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
        if (c.warmupEpochs() > 0 && progress < c.warmupEpochs() && !c.name().equals("onecycle")) {
            return base * (progress + 1e-9) / c.warmupEpochs();
        }
        double etaMin = c.etaMinLateEpoch() > 0 && progress >= c.etaMinLateEpoch() ? c.etaMinLate() : c.etaMin();
        double t = progress - c.warmupEpochs();
        return switch (c.name()) {
            case "cosine" -> {
                double period = c.tMax() > 0 ? c.tMax() : Math.max(1e-9, epochs - c.warmupEpochs());
                double x = c.tMax() > 0 ? t / period : Math.min(1, t / period);
                yield etaMin + (base - etaMin) * 0.5 * (1 + Math.cos(Math.PI * x));
            }
            case "cosine_restarts" -> {
                double period = c.tMax() > 0 ? c.tMax() : 10, start = 0;
                while (t >= start + period) {
                    start += period;
                    period *= Math.max(1, c.tMult());
                }
                yield etaMin + (base - etaMin) * 0.5 * (1 + Math.cos(Math.PI * (t - start) / period));
            }
            case "step" -> base * Math.pow(c.gamma(), Math.floor(t / c.stepSize()));
            case "multistep" -> {
                int passed = 0;
                for (int m : c.milestones()) if (progress >= m) passed++;
                yield base * Math.pow(c.gamma(), passed);
            }
            case "plateau" -> plateauLr;
            case "onecycle" -> {
                // linear warm-up from base/div to base over pct of the run, cosine down to base/div/final_div
                double total = Math.max(1e-9, epochs),
                        up = c.pctStart() * total,
                        start = base / c.divFactor(),
                        end = start / c.finalDivFactor();
                if (progress < up) yield start + (base - start) * progress / up;
                double x = Math.min(1, (progress - up) / Math.max(1e-9, total - up));
                yield end + (base - end) * 0.5 * (1 + Math.cos(Math.PI * x));
            }
            default -> base;
        };
    }

    /** Tells the schedule an epoch ended with {@code metric} (NaN when there is no validation). */
    public void epochEnd(int epoch, double metric) {
        if (!c.name().equals("plateau") || Double.isNaN(metric) || epoch < c.warmupEpochs()) return;
        boolean max = c.mode().equals("max");
        boolean better =
                Double.isNaN(best) || (max ? metric > best * (1 + c.threshold()) : metric < best * (1 - c.threshold()));
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
        if (badEpochs > c.patience()) {
            plateauLr = Math.max(c.minLr(), plateauLr * c.factor());
            cooldownLeft = c.cooldown();
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
