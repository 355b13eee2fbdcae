package convnet.train;

import convnet.config.Word;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A learning-rate schedule's settings: one record per kind, each with the settings it uses, read by {@link Schedule}.
 * Every kind but onecycle starts with a linear warm-up over {@code warmupEpochs} (0: none); {@link #lr} is the rate
 * after it, as a function of time ({@link Plateau}'s depends on the metric it watches, which {@link Schedule} follows).
 */
public sealed interface ScheduleConfig
        permits ScheduleConfig.Constant,
                ScheduleConfig.Cosine,
                ScheduleConfig.CosineRestarts,
                ScheduleConfig.Step,
                ScheduleConfig.MultiStep,
                ScheduleConfig.Plateau,
                ScheduleConfig.OneCycle {
    /** The kinds' words ({@code train.schedule.name}), in the order an error lists them. */
    List<String> NAMES = List.of("constant", "cosine", "cosine_restarts", "step", "multistep", "plateau", "onecycle");

    /** The word that names this kind in a config. */
    String name();

    int warmupEpochs();

    /** The rate at {@code progress} epochs (past the warm-up) of a run of {@code epochs} starting at {@code base}. */
    double lr(double base, double progress, int epochs);

    /** The settings as {@code train.schedule} reads them back: this kind's own, in reading order. */
    Map<String, Object> toMap();

    /** The same rate throughout. */
    record Constant(int warmupEpochs) implements ScheduleConfig {
        @Override
        public String name() {
            return "constant";
        }

        @Override
        public double lr(double base, double progress, int epochs) {
            return base;
        }

        @Override
        public Map<String, Object> toMap() {
            return map(this);
        }
    }

    /**
     * One cosine anneal from the base rate to {@code etaMin} over the run, or PyTorch's periodic CosineAnnealingLR with
     * period {@code tMax} (&gt; 0); from epoch {@code etaMinLateEpoch} on (&gt; 0), the floor is {@code etaMinLate}.
     */
    record Cosine(int warmupEpochs, double etaMin, double tMax, double etaMinLate, int etaMinLateEpoch)
            implements ScheduleConfig {
        @Override
        public String name() {
            return "cosine";
        }

        @Override
        public double lr(double base, double progress, int epochs) {
            double etaMin = floor(progress, this.etaMin, etaMinLate, etaMinLateEpoch);
            double t = progress - warmupEpochs;
            double period = tMax > 0 ? tMax : Math.max(1e-9, epochs - warmupEpochs);
            double x = tMax > 0 ? t / period : Math.min(1, t / period);
            return etaMin + (base - etaMin) * 0.5 * (1 + Math.cos(Math.PI * x));
        }

        @Override
        public Map<String, Object> toMap() {
            return map(
                    this,
                    "eta_min",
                    etaMin,
                    "t_max",
                    tMax,
                    "eta_min_late",
                    etaMinLate,
                    "eta_min_late_epoch",
                    etaMinLateEpoch);
        }
    }

    /** Cosine anneals with warm restarts: the first period {@code tMax} (0: 10 epochs), each next one {@code tMult} times longer. */
    record CosineRestarts(
            int warmupEpochs, double etaMin, double tMax, double tMult, double etaMinLate, int etaMinLateEpoch)
            implements ScheduleConfig {
        @Override
        public String name() {
            return "cosine_restarts";
        }

        @Override
        public double lr(double base, double progress, int epochs) {
            double etaMin = floor(progress, this.etaMin, etaMinLate, etaMinLateEpoch);
            double t = progress - warmupEpochs;
            double period = tMax > 0 ? tMax : 10, start = 0;
            while (t >= start + period) {
                start += period;
                period *= Math.max(1, tMult);
            }
            return etaMin + (base - etaMin) * 0.5 * (1 + Math.cos(Math.PI * (t - start) / period));
        }

        @Override
        public Map<String, Object> toMap() {
            return map(
                    this,
                    "eta_min",
                    etaMin,
                    "t_max",
                    tMax,
                    "t_mult",
                    tMult,
                    "eta_min_late",
                    etaMinLate,
                    "eta_min_late_epoch",
                    etaMinLateEpoch);
        }
    }

    /** The rate times {@code gamma} every {@code stepSize} epochs. */
    record Step(int warmupEpochs, int stepSize, double gamma) implements ScheduleConfig {
        @Override
        public String name() {
            return "step";
        }

        @Override
        public double lr(double base, double progress, int epochs) {
            return base * Math.pow(gamma, Math.floor((progress - warmupEpochs) / stepSize));
        }

        @Override
        public Map<String, Object> toMap() {
            return map(this, "step_size", stepSize, "gamma", gamma);
        }
    }

    /** The rate times {@code gamma} at each of the {@code milestones} (epochs, increasing). */
    record MultiStep(int warmupEpochs, double gamma, int[] milestones) implements ScheduleConfig {
        public MultiStep {
            milestones = milestones.clone();
        }

        @Override
        public String name() {
            return "multistep";
        }

        @Override
        public double lr(double base, double progress, int epochs) {
            int passed = 0;
            for (int m : milestones) if (progress >= m) passed++;
            return base * Math.pow(gamma, passed);
        }

        @Override
        public int[] milestones() {
            return milestones.clone();
        }

        @Override
        public Map<String, Object> toMap() {
            List<Integer> list = new ArrayList<>();
            for (int m : milestones) list.add(m);
            return map(this, "gamma", gamma, "milestones", list);
        }
    }

    /**
     * ReduceLROnPlateau: the rate times {@code factor} after more than {@code patience} epochs in which {@code monitor}
     * did not improve by the relative {@code threshold} (in the direction of {@code mode}), then {@code cooldown}
     * epochs of rest; never below {@code minLr}.
     */
    record Plateau(
            int warmupEpochs,
            Metric monitor,
            Mode mode,
            double factor,
            int patience,
            double threshold,
            int cooldown,
            double minLr)
            implements ScheduleConfig {
        /** The metrics a plateau can watch, in the order an error lists them. */
        public static final List<Metric> MONITORS = List.of(Metric.VAL_ACC, Metric.VAL_LOSS, Metric.TRAIN_LOSS);

        /** Whether the watched metric improves by rising ({@code max}) or falling ({@code min}). */
        public enum Mode implements Word {
            MAX,
            MIN;

            @Override
            public String word() {
                return name().toLowerCase(Locale.ROOT);
            }

            /** The direction in which {@code m} improves. */
            public static Mode of(Metric m) {
                return m.lowerIsBetter ? MIN : MAX;
            }
        }

        @Override
        public String name() {
            return "plateau";
        }

        /** The rate before any reduction. */
        @Override
        public double lr(double base, double progress, int epochs) {
            return base;
        }

        @Override
        public Map<String, Object> toMap() {
            return map(
                    this,
                    "monitor",
                    monitor.word,
                    "mode",
                    mode.word(),
                    "factor",
                    factor,
                    "patience",
                    patience,
                    "threshold",
                    threshold,
                    "cooldown",
                    cooldown,
                    "min_lr",
                    minLr);
        }
    }

    /**
     * One cycle (no separate warm-up): linear from base/{@code divFactor} up to the base rate over {@code pctStart} of
     * the run, then a cosine down to base/{@code divFactor}/{@code finalDivFactor}.
     */
    record OneCycle(double pctStart, double divFactor, double finalDivFactor) implements ScheduleConfig {
        @Override
        public String name() {
            return "onecycle";
        }

        @Override
        public int warmupEpochs() {
            return 0;
        }

        @Override
        public double lr(double base, double progress, int epochs) {
            double total = Math.max(1e-9, epochs),
                    up = pctStart * total,
                    start = base / divFactor,
                    end = start / finalDivFactor;
            if (progress < up) return start + (base - start) * progress / up;
            double x = Math.min(1, (progress - up) / Math.max(1e-9, total - up));
            return end + (base - end) * 0.5 * (1 + Math.cos(Math.PI * x));
        }

        @Override
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name());
            m.put("pct_start", pctStart);
            m.put("div_factor", divFactor);
            m.put("final_div_factor", finalDivFactor);
            return m;
        }
    }

    private static double floor(double progress, double etaMin, double etaMinLate, int etaMinLateEpoch) {
        return etaMinLateEpoch > 0 && progress >= etaMinLateEpoch ? etaMinLate : etaMin;
    }

    /** {@code name} and {@code warmup_epochs}, then {@code keysAndValues} in order. */
    private static Map<String, Object> map(ScheduleConfig c, Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", c.name());
        m.put("warmup_epochs", c.warmupEpochs());
        for (int i = 0; i < keysAndValues.length; i += 2) m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        return m;
    }
}
