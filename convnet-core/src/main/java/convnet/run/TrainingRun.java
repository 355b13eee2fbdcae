package convnet.run;

import convnet.UserException;
import convnet.config.ConfigDiff;
import convnet.config.YamlMaps;
import convnet.data.DecodedCache;
import convnet.data.Loader;
import convnet.engine.Precision;
import convnet.io.AtomicFiles;
import convnet.train.Checkpoints;
import convnet.train.Distributed;
import convnet.train.EarlyStopping;
import convnet.train.ModelEma;
import convnet.train.Schedule;
import convnet.train.ScheduleConfig;
import convnet.train.Trainer;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A training run made from a config: the composition root that the {@code train} command and Java
 * callers use. {@link #open} checks everything — config, data, classes, the checkpoint to resume from —
 * before it writes anything into the run directory, so a refused start leaves that directory as it was.
 * <pre>{@code
 * try (TrainingRun run = TrainingRun.open(config, Path.of("runs/x"), TrainingRun.Options.DEFAULT)) {
 *     run.trainer().fit();
 * }
 * }</pre>
 */
public final class TrainingRun implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TrainingRun.class);

    /**
     * How to start: {@code restart} discards the run directory's checkpoints, model and metrics (only
     * after every check passed); {@code resumeFrom} is {@code last}, {@code best} or a checkpoint path
     * (default: the newest usable checkpoint, if any); {@code terminal} draws a progress bar; with
     * {@code dist}, this process is one of several training together (only rank 0 writes);
     * {@code onDirectoryReady} is called once the run directory is created and locked (e.g. to open the log file there).
     */
    public record Options(
            boolean restart, String resumeFrom, boolean terminal, Distributed dist, Consumer<RunDir> onDirectoryReady) {
        public static final Options DEFAULT = new Options(false, null, false, null, dir -> {});
    }

    private final RunDir dir;
    private final RunConfig config;
    private final List<String> classes;
    private final Trainer trainer;
    private final Loader trainLoader, valLoader;
    private final RunDir.Lock lock;

    private TrainingRun(
            RunDir dir,
            RunConfig config,
            List<String> classes,
            Trainer trainer,
            Loader trainLoader,
            Loader valLoader,
            RunDir.Lock lock) {
        this.dir = dir;
        this.config = config;
        this.classes = classes;
        this.trainer = trainer;
        this.trainLoader = trainLoader;
        this.valLoader = valLoader;
        this.lock = lock;
    }

    public static TrainingRun open(RunConfig config, Path runDir, Options o) {
        RunDir dir = new RunDir(runDir);
        boolean writer = o.dist() == null || o.dist().rank == 0;
        if (writer) dir.checkUsable(config.train().logFile());
        if (o.restart() && o.resumeFrom() != null)
            throw new UserException("--restart and --resume contradict each other; give one");
        if (o.dist() != null) checkWorldSize(config, o.dist().world);
        boolean lockFileBefore = dir.hasLockFile();
        RunDir.Lock lock = writer && dir.isRun() ? dir.lock() : null; // a second process on the same run stops here
        try {
            TrainingData data = TrainingData.prepare(config.data(), config.seed());
            RunConfig resolved = config.withNormalization(data.mean(), data.std())
                    .withPrecision(precision(config.train().precision()))
                    .withCache(data.cached() ? DecodedCache.Mode.RAM : DecodedCache.Mode.NONE);
            String resolvedYaml = YamlMaps.dump(resolved.toMap());
            ModelSetup model = ModelSetup.build(config, data.classes().size());
            if (!o.restart())
                ResumeChoice.checkSameClasses(dir, data.classes()); // before any checkpoint is tried on them
            Checkpoints.Loaded resumed = ResumeChoice.load(dir, o, model, o.dist() == null);
            // every check has passed: from here on the run directory changes
            if (writer) {
                if (lock == null) lock = dir.lock();
                if (o.restart()) dir.clearForRestart();
                o.onDirectoryReady().accept(dir);
                AtomicFiles.writeString(dir.config(), resolvedYaml);
                AtomicFiles.writeString(dir.classes(), String.join("\n", data.classes()) + "\n");
            }
            if (o.dist() != null) o.dist().barrier();
            Checkpoints.State state = resumed != null ? resumed.state() : Checkpoints.State.NEW;
            if (resumed != null) logResume(resumed, resolvedYaml);
            Loader trainLoader = data.trainLoader(config.data(), config.seed());
            if (o.dist() != null) trainLoader.shard(o.dist().rank, o.dist().world);
            Loader valLoader = writer ? data.valLoader(config.data(), config.seed()) : null;
            Trainer trainer = trainer(resolved, model, trainLoader, valLoader, o.dist());
            if (writer)
                RunListeners.standard(dir, resolved, data, model, state, resolvedYaml, o.terminal(), o.dist() == null)
                        .forEach(trainer::listen);
            if (resumed != null) restore(trainer, resumed); // the listeners' state too
            return new TrainingRun(dir, resolved, data.classes(), trainer, trainLoader, valLoader, lock);
        } catch (RuntimeException | Error e) {
            if (lock != null) lock.close(); // a run that could not start leaves its directory free, and as it was
            if (writer && !lockFileBefore) dir.removeLockFile();
            throw e;
        }
    }

    /** Refuses a data-parallel run whose batch does not divide among its {@code world} processes. */
    public static void checkWorldSize(RunConfig config, int world) {
        config.data().checkWorldSize(world);
    }

    private static Trainer trainer(RunConfig config, ModelSetup model, Loader train, Loader val, Distributed dist) {
        RunConfig.Train t = config.train();
        Trainer.Options options = Trainer.Options.of(
                        t.precision().precision(),
                        new Schedule(t.schedule(), t.optimizer().lr(), t.epochs()),
                        t.epochs())
                .withLabelSmoothing(t.labelSmoothing())
                .withLrFactors(model.lrFactors())
                .withSeed(config.seed())
                .withMonitor(t.schedule() instanceof ScheduleConfig.Plateau p ? p.monitor() : null)
                .withDistributed(dist)
                .withMixing(t.mixing())
                .withClipGradNorm(t.clipGradNorm())
                .withAccumulate(t.accumulate())
                .withChannelsLast(t.channelsLast());
        if (t.earlyStop().on()) {
            RunConfig.EarlyStop es = t.earlyStop();
            options = options.withEarlyStopping(new EarlyStopping(es.monitor(), es.patience(), es.minDelta()));
        }
        if (t.ema().on())
            options = options.withEma(
                    new ModelEma.Spec(t.ema().decay(), t.ema().warmup(), t.ema().validateModel()));
        if (!model.frozen().isEmpty()) {
            int epochs = t.freezeEpochs() > 0 ? t.freezeEpochs() : Integer.MAX_VALUE;
            options = options.withFreeze(new Trainer.Freeze(model.frozenTensors(), model.frozenNorms(), epochs));
            log.info(
                    "{} ({} parameter tensors, {} BatchNorm layers with their statistics) frozen {}",
                    String.join(", ", t.freeze()),
                    model.frozen().size(),
                    model.frozenNorms().size(),
                    t.freezeEpochs() > 0 ? "for the first " + plural(t.freezeEpochs(), "epoch") : "for the whole run");
        }
        return new Trainer(model.net(), model.optimizer(), train, val, options);
    }

    /** Continues {@code trainer} from {@code resumed}: position, and each registered part's state. */
    private static void restore(Trainer trainer, Checkpoints.Loaded resumed) {
        List<String> restored = trainer.restore(resumed);
        if (trainer.ema() != null && !restored.contains(trainer.ema().stateKey())) {
            log.info(
                    "{} holds no average of the weights: it starts from the weights as they are",
                    resumed.path().getFileName());
        }
    }

    private static Precision precision(RunConfig.PrecisionSetting setting) {
        Precision.Choice c = Precision.choose(setting.word(), Precision.cpuFlags());
        log.info("precision {} ({})", c.precision().word, c.reason());
        return c.precision();
    }

    private static void logResume(Checkpoints.Loaded resumed, String resolvedYaml) {
        List<String> changed = ConfigDiff.changedKeys(Checkpoints.configOf(resumed.path()), resolvedYaml);
        if (!changed.isEmpty())
            log.info(
                    "the config differs from the one that made {}: {}",
                    resumed.path().getFileName(),
                    String.join(", ", changed));
        Checkpoints.State s = resumed.state();
        log.info(
                "resumed from {} ({}{} done, step {})",
                resumed.path(),
                plural(s.epoch(), "epoch"),
                s.midEpoch() ? " and " + plural(s.batch(), "batch") + " of epoch " + (s.epoch() + 1) : "",
                s.step());
    }

    /** "1 epoch", "2 epochs", "1 batch", "3 batches". */
    static String plural(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : noun.equals("batch") ? "es" : "s");
    }

    public Trainer trainer() {
        return trainer;
    }

    /** The number of training images an epoch goes through (this process's share when data-parallel). */
    public int trainImages() {
        return trainLoader.size();
    }

    public RunDir dir() {
        return dir;
    }

    /** The resolved config (normalisation filled in), as saved in the run directory. */
    public RunConfig config() {
        return config;
    }

    public List<String> classes() {
        return classes;
    }

    @Override
    public void close() {
        trainLoader.close();
        if (valLoader != null) valLoader.close();
        if (lock != null) lock.close();
    }
}
