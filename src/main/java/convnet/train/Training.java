package convnet.train;

import convnet.UserException;
import convnet.config.RunConfig;
import convnet.config.Yamls;
import convnet.data.ImageFolder;
import convnet.data.Loader;
import convnet.data.ProcessedDir;
import convnet.data.Sample;
import convnet.eval.ModelBundle;
import convnet.model.Net;
import convnet.report.Files2;
import convnet.report.MetricsCsv;
import convnet.report.Plots;
import convnet.report.Png;
import convnet.data.BadImageException;
import convnet.data.Images;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import convnet.report.TensorBoard;
import convnet.report.ProgressLog;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import convnet.weights.StateDict;
import convnet.weights.Weights;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets up a run from a config: the run directory (locked against a second process), the data and its
 * split, normalisation, the model, the optimizer, resuming from the last checkpoint, and the
 * listeners that write checkpoints, the model bundle, metrics and progress.
 */
public final class Training implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Training.class);

    public final RunConfig config;
    public final Path runDir;
    public final Trainer trainer;
    public final List<String> classes;
    public final float[] mean, std;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Loader trainLoader, valLoader;

    /** What to do when the run directory already has checkpoints. */
    public enum Start { AUTO, RESTART }

    public Training(RunConfig config, Path runDir, Start start, String resumeFrom, boolean terminal) {
        this(config, runDir, start, resumeFrom, terminal, null);
    }

    /**
     * With {@code dist}, this process is one of several training together: every rank reads the data,
     * the config and (on resume) the checkpoint; only rank 0 validates and writes the run directory.
     */
    public Training(RunConfig config, Path runDir, Start start, String resumeFrom, boolean terminal, Distributed dist) {
        this.config = config;
        this.runDir = runDir;
        boolean writer = dist == null || dist.rank == 0;
        if (!writer) {
            lockChannel = null;
            lock = null;
        } else try {
            Files.createDirectories(runDir);
            lockChannel = FileChannel.open(runDir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l;
            try {
                l = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) {
                lockChannel.close();
                throw new UserException(runDir + " is in use by another convnet process (the run directory is locked)");
            }
            lock = l;
        } catch (IOException e) {
            throw new UserException("cannot create run directory " + runDir + ": " + e.getMessage());
        }
        try {
            Checkpoints checkpoints = new Checkpoints(runDir).keepBest(config.train().keepBest(), config.train().bestMetric().endsWith("loss"));
            Path resume = null;
            if (start == Start.RESTART && writer) clearRun(runDir);
            if (dist != null) dist.barrier(); // the other ranks look for checkpoints only after rank 0 has cleared them
            if (start == Start.RESTART) {
                // started over
            } else if (resumeFrom != null) {
                resume = switch (resumeFrom) {
                    case "last", "best" -> {
                        Path p = checkpoints.resolve(resumeFrom);
                        if (p == null) throw new UserException(runDir + ": no '" + resumeFrom + "' checkpoint to resume from");
                        yield p;
                    }
                    default -> Path.of(resumeFrom);
                };
            }
            boolean autoResume = start != Start.RESTART && resumeFrom == null;

            // data
            RunConfig.Data d = config.data();
            List<List<Sample>> split = splitData(d, config.seed());
            ProcessedDir processed = ProcessedDir.is(d.train()) ? ProcessedDir.read(d.train()) : null;
            this.classes = processed != null ? processed.classes : ImageFolder.scan(trainRoot(d), null).classes;
            List<Sample> trainSamples = split.get(0), valSamples = split.get(1);
            log.info("data: {} classes, {} training and {} validation images", classes.size(), trainSamples.size(), valSamples.size());
            if (classes.size() < 2) throw new UserException(d.train() + ": only one class (" + classes.get(0) + "); a classifier needs at least two class folders");
            if (trainSamples.size() < d.batchSize()) {
                throw new UserException("data.batch_size " + d.batchSize() + " is larger than the training set (" + trainSamples.size() + " images)");
            }
            Loader.OnBadImage onBad = d.onBadImage().equals("skip") ? Loader.OnBadImage.SKIP : Loader.OnBadImage.ERROR;
            if (d.autoNormalize() && processed != null && processed.mean != null) {
                mean = processed.mean;
                std = processed.std;
                log.info(String.format("normalisation from %s: mean %.4f %.4f %.4f, std %.4f %.4f %.4f", d.train().resolve("rgb_mean.json"),
                        mean[0], mean[1], mean[2], std[0], std[1], std[2]));
            } else if (d.autoNormalize()) {
                float[][] ms = meanStd(trainSamples, d, onBad);
                mean = ms[0];
                std = ms[1];
                log.info(String.format("normalisation from the training images: mean %.4f %.4f %.4f, std %.4f %.4f %.4f", mean[0], mean[1], mean[2], std[0], std[1], std[2]));
            } else {
                mean = d.mean();
                std = d.std();
            }
            RunConfig resolved = new RunConfig(config.name(), config.seed(), config.model(),
                    new RunConfig.Data(d.train(), d.val(), d.valSplit(), d.imageSize(), d.batchSize(), d.workers(), d.onBadImage(), mean, std,
                            d.trainTransforms(), d.evalTransforms()), config.train());
            String resolvedYaml = Yamls.dump(resolved.toMap());
            checkpoints.config(resolvedYaml);
            if (writer) {
                Files2.writeString(runDir.resolve("config.yaml"), resolvedYaml);
                Files2.writeString(runDir.resolve("classes.txt"), String.join("\n", classes) + "\n");
            }

            trainLoader = new Loader(trainSamples, d.trainTransforms(), mean, std, d.batchSize(), true, true, config.seed(), d.workers(), onBad);
            if (dist != null) trainLoader.shard(dist.rank, dist.world);
            valLoader = valSamples.isEmpty() || !writer ? null
                    : new Loader(valSamples, d.evalTransforms(), mean, std, d.batchSize(), false, false, config.seed(), d.workers(), onBad);

            // model and optimizer: long-lived, created outside any scope
            Net net = config.model().spec(classes.size()).build(config.seed());
            Set<String> pretrained = Set.of();
            if (config.model().weights() != null) {
                pretrained = new LinkedHashSet<>(Weights.load(config.model().weights(), net, config.model().dropHead()));
                log.info("initial weights: {} tensors from {}{}", pretrained.size(), config.model().weights(),
                        config.model().dropHead() ? " (its last layer left out: new head " + Weights.headPrefix(net) + ")" : "");
            }
            RunConfig.Train t = config.train();
            Optimizers.Built built = Optimizers.create(t.optimizer(), net, pretrained);
            Optimizer optimizer = built.optimizer();
            trainer = new Trainer(net, optimizer, trainLoader, valLoader, Precision.of(t.precision()),
                    new Schedule(t.schedule(), t.optimizer().lr(), t.epochs()), t.epochs(), t.labelSmoothing());
            trainer.lrFactors(built.lrFactors());
            trainer.seed(config.seed(), t.schedule().monitor());
            if (dist != null) trainer.distributed(dist);
            if (t.channelsLast()) trainer.channelsLast(true);
            if (t.freezeEpochs() > 0 && !pretrained.isEmpty()) {
                Map<String, Tensor> sd = StateDict.of(net);
                List<Tensor> frozen = new ArrayList<>();
                var params = net.named_parameters(true);
                for (long i = 0; i < params.size(); i++) {
                    String n = params.get(i).key().getString();
                    if (pretrained.contains(n)) frozen.add(sd.get(n));
                }
                trainer.freeze(frozen, t.freezeEpochs());
                log.info("pretrained layers frozen for the first {} epochs", t.freezeEpochs());
            }
            Checkpoints.State state = new Checkpoints.State(0, 0, Double.NaN, 0);
            if (autoResume) {
                Checkpoints.State[] loaded = new Checkpoints.State[1];
                resume = checkpoints.loadLatestGood(net, optimizer, loaded);
                // the first epoch's row is written just before its checkpoint: a run stopped between the two has
                // nothing to lose and starts over; more rows without any checkpoint mean checkpoints were removed
                if (resume == null && metricRows(runDir.resolve("metrics.csv")) > 1) {
                    throw new UserException(runDir + " holds an earlier run without a checkpoint; use --restart to start over");
                }
                if (resume != null) state = loaded[0];
            } else if (resume != null) {
                state = Checkpoints.load(resume, net, optimizer);
            }
            if (resume != null) {
                if (state.midEpoch() && dist != null) {
                    throw new UserException(resume + " was saved mid-epoch; a data-parallel run resumes only from an epoch's end (--resume PATH of one)");
                }
                List<String> changed = changedKeys(Checkpoints.configOf(resume), resolvedYaml);
                if (!changed.isEmpty()) log.info("the config differs from the one that made {}: {}", resume.getFileName(), String.join(", ", changed));
                trainer.resumeAt(state.epoch(), state.step(), state.batch(), state.partial());
                trainer.schedule.restore(state.schedule());
                if (trainer.scaler != null) trainer.scaler.restore(state.scaler());
                log.info("resumed from {} ({} epochs{} done, step {})", resume, state.epoch(),
                        state.midEpoch() ? " and " + state.batch() + " batches of epoch " + (state.epoch() + 1) : "", state.step());
            }
            ModelBundle bundle = new ModelBundle(net.spec(), classes, d.imageSize(), mean, std, d.evalTransforms());
            if (!writer) return;
            MetricsCsv metrics = new MetricsCsv(runDir.resolve("metrics.csv"), state.epoch());
            TensorBoard tensorboard = new TensorBoard(runDir, metrics);
            for (byte[] png : samplePngs(trainSamples, d, 8)) tensorboard.addImage(png);
            convnet.model.Summary summary = convnet.model.Summary.of(net, 3, d.imageSize(), d.imageSize());
            log.debug("model {}:\n{}", config.model().name(), summary.format());
            tensorboard.setGraph(summary, config.model().name());
            // order matters: the metrics row is written before the checkpoint, the reports after it
            trainer.listen(new ProgressLog(terminal))
                    .listen(metrics)
                    .listen(new Saver(checkpoints, bundle, runDir.resolve("model"), state, t.checkpointEvery(), valLoader != null, t.bestMetric(), dist == null))
                    .listen(tensorboard)
                    .listen(new Plots(runDir, metrics));
    
        } catch (RuntimeException | Error e) {
            releaseLock(); // a run that could not start leaves its directory free
            throw e;
        }
    }

    /**
     * Saves a checkpoint after every epoch (and mid-epoch when the run is stopped), and the model bundle
     * whenever the best-metric improves.
     */
    static final class Saver implements TrainListener {
        final Checkpoints checkpoints;
        final ModelBundle bundle;
        final Path modelDir;
        final int every;
        final boolean hasVal, lowerIsBetter, midEpoch;
        final String metric;
        double best;
        int bestEpoch;

        Saver(Checkpoints c, ModelBundle bundle, Path modelDir, Checkpoints.State resumed, int every, boolean hasVal, String metric, boolean midEpoch) {
            this.checkpoints = c;
            this.bundle = bundle;
            this.modelDir = modelDir;
            this.every = every;
            this.hasVal = hasVal || !metric.startsWith("val_");
            this.metric = metric;
            this.lowerIsBetter = metric.endsWith("loss");
            this.midEpoch = midEpoch;
            this.best = resumed.bestMetric();
            this.bestEpoch = resumed.bestEpoch();
        }

        static double value(EpochStats s, String metric) {
            return switch (metric) {
                case "val_loss" -> s.valLoss();
                case "val_top5" -> s.valTop5();
                case "train_acc" -> s.trainAcc();
                case "train_loss" -> s.trainLoss();
                default -> s.valAcc();
            };
        }

        @Override
        public void onEpochEnd(Trainer t, EpochStats s) {
            double v = hasVal ? value(s, metric) : Double.NaN;
            boolean improved = !hasVal || Double.isNaN(best) || (lowerIsBetter ? v < best : v > best);
            if (improved) {
                best = v;
                bestEpoch = s.epoch();
            }
            boolean keep = every > 0 && s.epoch() % every == 0;
            checkpoints.save(t.net, t.optimizer, new Checkpoints.State(s.epoch(), s.step(), best, bestEpoch, t.schedule.state(), v, 0, null,
                    t.scaler == null ? null : t.scaler.state()), improved, keep);
            if (improved || !Files.exists(modelDir.resolve("model.json"))) bundle.save(modelDir, t.net);
        }

        @Override
        public void onStop(Trainer t) {
            if (!midEpoch) {
                log.info("data-parallel run stopped mid-epoch: it resumes from the last epoch's end");
                return;
            }
            Path p = checkpoints.save(t.net, t.optimizer, new Checkpoints.State(t.epoch(), t.step(), best, bestEpoch, t.schedule.state(), Double.NaN,
                    t.batchInEpoch(), t.partialSums(), t.scaler == null ? null : t.scaler.state()), false, false);
            log.info("saved {} (epoch {}, batch {})", p, t.epoch() + 1, t.batchInEpoch());
        }
    }

    /** The dotted keys whose values differ between two config dumps (empty when {@code before} is null). */
    static List<String> changedKeys(String before, String after) {
        if (before == null) return List.of();
        Map<String, String> a = new java.util.TreeMap<>(), b = new java.util.TreeMap<>();
        try { // plain maps, lists and scalars only: a checkpoint's file never names a class to build
            flatten("", new org.yaml.snakeyaml.Yaml(new org.yaml.snakeyaml.constructor.SafeConstructor(new org.yaml.snakeyaml.LoaderOptions())).load(before), a);
            flatten("", new org.yaml.snakeyaml.Yaml(new org.yaml.snakeyaml.constructor.SafeConstructor(new org.yaml.snakeyaml.LoaderOptions())).load(after), b);
        } catch (RuntimeException unreadable) {
            return List.of("(its config.yaml is not readable: " + String.valueOf(unreadable.getMessage()).lines().findFirst().orElse("") + ")");
        }
        Set<String> keys = new java.util.TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        List<String> out = new ArrayList<>();
        for (String k : keys) if (!java.util.Objects.equals(a.get(k), b.get(k))) out.add(k + " " + a.get(k) + " → " + b.get(k));
        return out;
    }

    private static void flatten(String prefix, Object node, Map<String, String> out) {
        if (node instanceof Map<?, ?> m) {
            for (var e : m.entrySet()) flatten(prefix.isEmpty() ? String.valueOf(e.getKey()) : prefix + "." + e.getKey(), e.getValue(), out);
        } else {
            out.put(prefix, String.valueOf(node));
        }
    }

    /** The validation samples a config's run used (recomputed: the split is a pure function of the config). */
    public static List<Sample> validationSamples(RunConfig config) {
        return splitData(config.data(), config.seed()).get(1);
    }

    private static long metricRows(Path csv) {
        if (!Files.isRegularFile(csv)) return 0;
        try (java.util.stream.Stream<String> lines = Files.lines(csv)) {
            return lines.filter(l -> !l.isBlank() && !l.startsWith("epoch")).count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return Long.MAX_VALUE; // unreadable: do not start over on top of it
        }
    }

    /** A few training images after the evaluation transforms, as PNGs for TensorBoard. */
    static List<byte[]> samplePngs(List<Sample> samples, RunConfig.Data d, int n) {
        List<byte[]> out = new ArrayList<>();
        float[] px = new float[3 * d.imageSize() * d.imageSize()];
        for (Sample s : samples.subList(0, Math.min(n, samples.size()))) {
            try (PointerScope scope = new PointerScope()) {
                d.evalTransforms().run(Images.decode(s.file()), new Random(0), new float[] {0, 0, 0}, new float[] {1, 1, 1}, px, 0);
                out.add(Png.encode(Png.fromChw(px, d.imageSize())));
            } catch (BadImageException e) {
                log.debug("no sample image from {}: {}", e.file, e.reason);
            }
        }
        return out;
    }

    static Path trainRoot(RunConfig.Data d) {
        if (d.val() == null && Files.isDirectory(d.train().resolve("train"))) return d.train().resolve("train");
        return d.train();
    }

    /** Train and validation samples: an explicit val folder, a train/ + val/ (or test/) pair, or a stratified split. */
    static List<List<Sample>> splitData(RunConfig.Data d, long seed) {
        if (ProcessedDir.is(d.train())) {
            ProcessedDir p = ProcessedDir.read(d.train());
            if (d.val() != null) return List.of(p.train, ImageFolder.scan(d.val(), p.classes).samples);
            return List.of(p.train, p.val);
        }
        Path root = trainRoot(d);
        ImageFolder train = ImageFolder.scan(root, null);
        Path val = d.val();
        if (val == null && !root.equals(d.train())) {
            for (String name : new String[] {"val", "test"}) {
                if (Files.isDirectory(d.train().resolve(name))) {
                    val = d.train().resolve(name);
                    break;
                }
            }
        }
        if (val != null) {
            return List.of(train.samples, ImageFolder.scan(val, train.classes).samples);
        }
        return ImageFolder.split(train.samples, train.classes.size(), d.valSplit(), seed);
    }

    /** Per-channel mean and std of the training images (up to 2,000 of them) after the evaluation resize and crop. */
    static float[][] meanStd(List<Sample> samples, RunConfig.Data d, Loader.OnBadImage onBad) {
        List<Sample> subset = new ArrayList<>(samples);
        java.util.Collections.shuffle(subset, new java.util.Random(1));
        if (subset.size() > 2000) subset = subset.subList(0, 2000);
        double[] sum = new double[3], sq = new double[3];
        long n = 0;
        try (Loader l = new Loader(subset, d.evalTransforms(), new float[] {0, 0, 0}, new float[] {1, 1, 1}, 64, false, false, 0, d.workers(), onBad)) {
            Iterator<Loader.Batch> it = l.epoch(0, 0);
            while (it.hasNext()) {
                Loader.Batch b = it.next();
                int plane = b.height() * b.width();
                for (int i = 0; i < b.size(); i++) {
                    for (int c = 0; c < 3; c++) {
                        int off = (i * 3 + c) * plane;
                        for (int j = 0; j < plane; j++) {
                            double v = b.images()[off + j];
                            sum[c] += v;
                            sq[c] += v * v;
                        }
                    }
                }
                n += (long) b.size() * plane;
            }
        }
        float[] mean = new float[3], std = new float[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = (float) (sum[c] / n);
            std[c] = (float) Math.sqrt(Math.max(1e-12, sq[c] / n - mean[c] * (double) mean[c]));
        }
        return new float[][] {mean, std};
    }

    private static void clearRun(Path runDir) {
        try {
            Checkpoints.deleteTree(runDir.resolve("checkpoints"));
            Checkpoints.deleteTree(runDir.resolve("model"));
            Files.deleteIfExists(runDir.resolve("metrics.csv"));
        } catch (IOException e) {
            throw new UserException("cannot clear " + runDir + " for --restart: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        trainLoader.close();
        if (valLoader != null) valLoader.close();
        releaseLock();
    }

    private void releaseLock() {
        try {
            if (lock != null && lock.isValid()) lock.release();
            if (lockChannel != null) lockChannel.close();
        } catch (IOException ignored) {
            // the lock goes with the process anyway
        }
    }
}
