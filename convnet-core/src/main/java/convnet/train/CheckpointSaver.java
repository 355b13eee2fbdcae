package convnet.train;

import convnet.bundle.ModelBundle;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Saves a checkpoint after every epoch (and mid-epoch when the run is stopped) and the model bundle
 * whenever the run's best-metric improves. The loop hands it each epoch's figures; which is best, and
 * which checkpoints stay, is decided here and in {@link Checkpoints}. Its own state, the best epoch so far, is
 * the checkpoint's component {@value #KEY}.
 */
public final class CheckpointSaver implements TrainListener, Stateful {
    /** The key of the best epoch so far in a checkpoint's components. */
    public static final String KEY = "best";

    private static final Logger log = LoggerFactory.getLogger(CheckpointSaver.class);
    private final Checkpoints checkpoints;
    private final ModelBundle bundle;
    private final Path modelDir;
    private final Metric metric;
    private final boolean ranked;
    private final int every;
    private final boolean savesMidEpoch;
    private double best = Double.NaN;
    private int bestEpoch;

    /**
     * @param hasValidation whether epochs have validation figures; without them a validation metric ranks
     *                      nothing and every epoch counts as the best
     * @param every         also keep every N-th epoch's checkpoint (0: none)
     * @param savesMidEpoch whether a stop mid-epoch is saved (single-process runs); otherwise the run
     *                      resumes from the last epoch's end
     */
    public CheckpointSaver(
            Checkpoints checkpoints,
            ModelBundle bundle,
            Path modelDir,
            Metric metric,
            boolean hasValidation,
            int every,
            boolean savesMidEpoch) {
        this.checkpoints = checkpoints;
        this.bundle = bundle;
        this.modelDir = modelDir;
        this.metric = metric;
        this.ranked = hasValidation || !metric.needsValidation();
        this.every = every;
        this.savesMidEpoch = savesMidEpoch;
    }

    @Override
    public String stateKey() {
        return KEY;
    }

    /** The run's best value of its best-metric so far, and the epoch that had it. */
    @Override
    public Map<String, Object> state() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("metric", best);
        s.put("epoch", bestEpoch);
        return s;
    }

    @Override
    public void restore(Map<String, Object> s) {
        best = Stateful.number(s, "metric");
        bestEpoch = (int) Stateful.integer(s, "epoch");
    }

    @Override
    public void onEpochEnd(Trainer t, EpochStats s) {
        double v = ranked ? metric.of(s) : Double.NaN;
        boolean improved = !ranked || metric.improves(v, best);
        if (improved) {
            best = v;
            bestEpoch = s.epoch();
        }
        boolean keep = every > 0 && s.epoch() % every == 0;
        // the bundle before the checkpoint: a run killed between the two repeats the epoch and writes both again
        if (improved || !ModelBundle.exists(modelDir)) {
            if (metric.ofAverage() && t.ema() != null) {
                t.ema().withWeightsIn(() -> {
                    bundle.save(modelDir, t.net());
                    return null;
                });
            } else {
                bundle.save(modelDir, t.net());
            }
        }
        checkpoints.save(t.net(), t.optimizer(), t.snapshot(v), improved, keep);
    }

    @Override
    public void onTrainEnd(Trainer t) {
        if (bestEpoch > 0 && !t.stopped()) {
            log.info(
                    ranked
                            ? String.format(
                                    Locale.ROOT,
                                    "the model bundle holds epoch %d (%s %.4f)",
                                    bestEpoch,
                                    metric.word,
                                    best)
                            : "the model bundle holds epoch " + bestEpoch
                                    + " (the last: no validation set ranks the epochs)",
                    bestEpoch);
        }
    }

    @Override
    public void onStop(Trainer t) {
        if (!savesMidEpoch) {
            log.info("data-parallel run stopped mid-epoch: it resumes from the last epoch's end");
            return;
        }
        Path p = checkpoints.save(t.net(), t.optimizer(), t.snapshot(Double.NaN), false, false);
        log.info("saved {} (epoch {}, batch {})", p, t.epoch() + 1, t.progress().batch());
    }
}
