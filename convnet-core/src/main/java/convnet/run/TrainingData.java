package convnet.run;

import com.sun.management.OperatingSystemMXBean;
import convnet.UserException;
import convnet.data.ChannelStats;
import convnet.data.DataSplit;
import convnet.data.DecodedCache;
import convnet.data.Loader;
import convnet.data.Sample;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A run's data, checked before anything is written: its classes, the training and validation samples,
 * and the normalisation (given, from {@code rgb_mean.json}, or measured on the training images).
 */
record TrainingData(
        List<String> classes,
        List<Sample> train,
        List<Sample> val,
        float[] mean,
        float[] std,
        Loader.OnBadImage onBad,
        boolean cached) {
    private static final Logger log = LoggerFactory.getLogger(TrainingRun.class);

    static TrainingData prepare(RunConfig.Data d, long seed) {
        DataSplit split = split(d, seed);
        List<String> classes = split.classes();
        log.info(
                "data: {} classes, {} training and {} validation images",
                classes.size(),
                split.train().size(),
                split.val().size());
        if (classes.size() < 2) {
            throw new UserException(
                    d.train() + ": only one class (" + classes.get(0) + "); a classifier needs at least two classes");
        }
        if (split.train().size() < d.batchSize()) {
            throw new UserException("data.batch_size " + d.batchSize() + " is larger than the training set ("
                    + split.train().size() + " images)");
        }
        Loader.OnBadImage onBad = d.onBadImage();
        float[] mean = floats(d.mean()), std = floats(d.std());
        if (d.autoNormalize() && split.processed() != null && split.processed().mean != null) {
            mean = split.processed().mean;
            std = split.processed().std;
            log.info(describe("normalisation from " + d.train().resolve("rgb_mean.json"), mean, std));
        } else if (d.autoNormalize()) {
            ChannelStats stats = ChannelStats.measure(split.train(), d.evalTransforms(), d.workers(), onBad);
            mean = stats.mean();
            std = stats.std();
            log.info(describe("normalisation from the training images", mean, std));
        }
        return new TrainingData(
                classes,
                split.train(),
                split.val(),
                mean,
                std,
                onBad,
                cacheDecision(d.cache(), split.train(), split.val()));
    }

    private static float[] floats(double[] d) {
        if (d == null) return null;
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    private static String describe(String what, float[] mean, float[] std) {
        return String.format(
                Locale.ROOT,
                "%s: mean %.4f %.4f %.4f, std %.4f %.4f %.4f",
                what,
                mean[0],
                mean[1],
                mean[2],
                std[0],
                std[1],
                std[2]);
    }

    /** The validation samples a config's run used (recomputed: the split is a pure function of the config). */
    static List<Sample> validationSamples(RunConfig config) {
        RunConfig.Data d = config.data();
        return split(d, config.seed()).val();
    }

    private static DataSplit split(RunConfig.Data d, long seed) {
        return DataSplit.of(d.train(), d.trainLabels(), d.val(), d.valLabels(), d.valSplit(), seed);
    }

    Loader trainLoader(RunConfig.Data d, long seed) {
        Loader loader = new Loader(
                train,
                d.trainTransforms(),
                mean,
                std,
                Loader.Options.training(d.batchSize(), seed, d.workers(), onBad));
        return cached ? loader.cache(new DecodedCache()) : loader;
    }

    /**
     * Whether to keep the decoded training and validation images in memory: {@code ram} always, {@code none} never,
     * {@code auto} when their estimated size fits a budget — a quarter of physical memory, and half of the Java heap
     * (where the pixels live). The validation images are decoded once too: a run validates every epoch, and with a
     * weight average twice. The decision is logged.
     */
    static boolean cacheDecision(DecodedCache.Mode mode, List<Sample> train, List<Sample> val) {
        if (mode == DecodedCache.Mode.NONE) return false;
        long estimate = DecodedCache.estimateBytes(train) + DecodedCache.estimateBytes(val);
        String what = val.isEmpty() ? "decoded training images" : "decoded training and validation images";
        if (mode == DecodedCache.Mode.RAM) {
            log.info("data cache: {} kept in memory (about {} MB)", what, estimate >> 20);
            return true;
        }
        long physical = ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        long budget = Math.min(physical / 4, Runtime.getRuntime().maxMemory() / 2);
        boolean fits = estimate <= budget;
        log.info(
                "data cache: {} (auto: about {} MB decoded, budget {} MB)",
                fits ? what + " kept in memory" : "none, images decoded each epoch",
                estimate >> 20,
                budget >> 20);
        return fits;
    }

    /** The validation loader, or null when there are no validation images. */
    Loader valLoader(RunConfig.Data d, long seed) {
        if (val.isEmpty()) return null;
        Loader loader = new Loader(
                val,
                d.evalTransforms(),
                mean,
                std,
                new Loader.Options(d.batchSize(), false, false, seed, d.workers(), onBad));
        return cached ? loader.cache(new DecodedCache()) : loader;
    }
}
