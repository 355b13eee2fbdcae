package convnet.train;

import java.util.List;

/** The learning-rate schedule's settings; {@link Schedule} reads them, {@code monitor} names the metric plateau watches. */
public record ScheduleConfig(
        String name,
        int warmupEpochs,
        double etaMin,
        int stepSize,
        double gamma,
        double tMax,
        double tMult,
        double etaMinLate,
        int etaMinLateEpoch,
        int[] milestones,
        String monitor,
        String mode,
        double factor,
        int patience,
        double threshold,
        int cooldown,
        double minLr,
        double pctStart,
        double divFactor,
        double finalDivFactor) {
    public static final List<String> NAMES =
            List.of("constant", "cosine", "cosine_restarts", "step", "multistep", "plateau", "onecycle");

    public ScheduleConfig(String name, int warmupEpochs, double etaMin, int stepSize, double gamma) {
        this(
                name,
                warmupEpochs,
                etaMin,
                stepSize,
                gamma,
                0,
                1,
                0,
                0,
                new int[0],
                Metric.VAL_ACC.word,
                "max",
                0.1,
                10,
                1e-4,
                0,
                0,
                0.3,
                25,
                1e4);
    }
}
