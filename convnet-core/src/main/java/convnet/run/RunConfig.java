package convnet.run;

import convnet.UserException;
import convnet.config.ConfigNode;
import convnet.config.Section;
import convnet.config.Word;
import convnet.data.DecodedCache;
import convnet.data.Loader;
import convnet.data.transform.Pipeline;
import convnet.data.transform.Transforms;
import convnet.engine.Precision;
import convnet.model.Arch;
import convnet.model.Init;
import convnet.model.ModelSpec;
import convnet.model.Models;
import convnet.train.Metric;
import convnet.train.Mixing;
import convnet.train.OptimizerConfig;
import convnet.train.ScheduleConfig;
import convnet.weights.Pretrained;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The whole configuration of a training run, typed and validated. Each key is read in one line below, with its default
 * and range, and words are read into their enums; the resolved config that is saved with the run ({@link #toMap}) is
 * written from these records, every default filled in, and a key no line reads is an error ({@link Section}).
 */
public record RunConfig(String name, long seed, Model model, Data data, Train train) {

    /** {@code zeroLast}: zero the last layer of every residual branch at the start (each unit starts as the identity). */
    public record Model(
            String name,
            Arch arch,
            String initConv,
            String initLinear,
            Path weights,
            boolean dropHead,
            boolean zeroLast,
            String pretrained) {
        public ModelSpec spec(int numClasses) {
            return new ModelSpec(name, arch, numClasses, initConv, initLinear);
        }

        Map<String, Object> toMap() {
            Map<String, Object> init = new LinkedHashMap<>();
            init.put("conv", initConv);
            init.put("linear", initLinear);
            if (weights != null) {
                init.put("weights", pretrained != null ? Pretrained.SCHEME + pretrained : weights.toString());
                init.put("drop_head", dropHead);
            }
            init.put("zero_last", zeroLast);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("options", arch.toMap());
            m.put("init", init);
            return m;
        }
    }

    /**
     * {@code train} and {@code val}: a folder per class, a CSV manifest ({@code .csv}), a processed dir
     * ({@code train} only), or with {@code trainLabels} / {@code valLabels} a flat folder and its labels file.
     * {@code mean} and {@code std}: null for {@code mean: auto} (from {@code rgb_mean.json}, or measured).
     */
    public record Data(
            Path train,
            Path trainLabels,
            Path val,
            Path valLabels,
            double valSplit,
            int imageSize,
            int batchSize,
            int workers,
            Loader.OnBadImage onBadImage,
            DecodedCache.Mode cache,
            double[] mean,
            double[] std,
            Pipeline trainTransforms,
            Pipeline evalTransforms) {
        public boolean autoNormalize() {
            return mean == null;
        }

        public Data withNormalization(float[] mean, float[] std) {
            return new Data(
                    train,
                    trainLabels,
                    val,
                    valLabels,
                    valSplit,
                    imageSize,
                    batchSize,
                    workers,
                    onBadImage,
                    cache,
                    doubles(mean),
                    doubles(std),
                    trainTransforms,
                    evalTransforms);
        }

        public Data withCache(DecodedCache.Mode cache) {
            return new Data(
                    train,
                    trainLabels,
                    val,
                    valLabels,
                    valSplit,
                    imageSize,
                    batchSize,
                    workers,
                    onBadImage,
                    cache,
                    mean,
                    std,
                    trainTransforms,
                    evalTransforms);
        }

        /** Refuses a data-parallel run whose batch does not divide among its {@code world} processes. */
        public void checkWorldSize(int world) {
            if (batchSize % world != 0)
                throw new UserException("data.batch_size " + batchSize
                        + " must be divisible by the number of processes (" + world + ")");
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("train", train.toString());
            if (trainLabels != null) m.put("train_labels", trainLabels.toString());
            if (val != null) m.put("val", val.toString());
            if (valLabels != null) m.put("val_labels", valLabels.toString());
            m.put("val_split", valSplit);
            m.put("image_size", imageSize);
            m.put("batch_size", batchSize);
            m.put("workers", workers);
            m.put("on_bad_image", onBadImage.word());
            m.put("cache", cache.word());
            if (mean == null) {
                m.put("mean", "auto");
            } else {
                m.put("mean", list(mean));
                m.put("std", list(std));
            }
            m.put("train_transforms", trainTransforms.toList());
            m.put("eval_transforms", evalTransforms.toList());
            return m;
        }
    }

    /**
     * {@code train.precision}: a precision, or {@code auto} — chosen for the machine when the run starts
     * ({@link Precision#choose}).
     */
    public enum PrecisionSetting implements Word {
        AUTO("auto", null),
        FP32(Precision.FP32),
        BF16_MIXED(Precision.BF16_MIXED),
        FP16_MIXED(Precision.FP16_MIXED);

        private final String word;
        private final Precision precision;

        PrecisionSetting(Precision p) {
            this(p.word, p);
        }

        PrecisionSetting(String word, Precision precision) {
            this.word = word;
            this.precision = precision;
        }

        @Override
        public String word() {
            return word;
        }

        /** The precision set; {@code auto} has none until a run chooses one ({@link #of}). */
        public Precision precision() {
            if (precision == null) throw new IllegalStateException("precision auto is chosen when a run starts");
            return precision;
        }

        public static PrecisionSetting of(Precision p) {
            for (PrecisionSetting s : values()) if (s.precision == p) return s;
            throw new IllegalArgumentException(String.valueOf(p));
        }
    }

    /** {@code train.log_level}: what the console and the run's log show. */
    public enum LogLevel implements Word {
        DEBUG,
        INFO,
        WARN,
        ERROR;

        @Override
        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * {@code keepBest}: how many of the best epoch checkpoints (by {@code bestMetric}; lower is better for
     * losses) stay on disk; {@code logFile} is the log's name inside the run directory.
     */
    public record Train(
            int epochs,
            OptimizerConfig optimizer,
            ScheduleConfig schedule,
            PrecisionSetting precision,
            int threads,
            int checkpointEvery,
            double labelSmoothing,
            int freezeEpochs,
            boolean channelsLast,
            int keepBest,
            Metric bestMetric,
            String logFile,
            LogLevel logLevel,
            double progressSeconds,
            Mixing mixing,
            double clipGradNorm,
            EarlyStop earlyStop,
            int accumulate,
            Ema ema,
            List<String> freeze,
            Map<String, Double> lrFactors) {
        public Train {
            freeze = List.copyOf(freeze);
            lrFactors = Collections.unmodifiableMap(new LinkedHashMap<>(lrFactors));
        }

        public Train withPrecision(PrecisionSetting precision) {
            return new Train(
                    epochs,
                    optimizer,
                    schedule,
                    precision,
                    threads,
                    checkpointEvery,
                    labelSmoothing,
                    freezeEpochs,
                    channelsLast,
                    keepBest,
                    bestMetric,
                    logFile,
                    logLevel,
                    progressSeconds,
                    mixing,
                    clipGradNorm,
                    earlyStop,
                    accumulate,
                    ema,
                    freeze,
                    lrFactors);
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("epochs", epochs);
            m.put("optimizer", optimizer.toMap());
            m.put("schedule", schedule.toMap());
            m.put("precision", precision.word());
            m.put("threads", threads);
            m.put("checkpoint_every", checkpointEvery);
            m.put("label_smoothing", labelSmoothing);
            m.put("freeze_epochs", freezeEpochs);
            m.put("channels_last", channelsLast);
            m.put("keep_best", keepBest);
            m.put("best_metric", bestMetric.word);
            m.put("log_file", logFile);
            m.put("log_level", logLevel.word());
            m.put("progress_seconds", progressSeconds);
            Map<String, Object> mixup = new LinkedHashMap<>();
            mixup.put("mixup_alpha", mixing.mixupAlpha());
            mixup.put("cutmix_alpha", mixing.cutmixAlpha());
            if (mixing.on()) {
                mixup.put("prob", mixing.prob());
                mixup.put("switch_prob", mixing.switchProb());
            }
            m.put("mixup", mixup);
            m.put("clip_grad_norm", clipGradNorm);
            m.put("early_stopping", earlyStop.toMap());
            m.put("accumulate", accumulate);
            m.put("ema", ema.toMap());
            m.put("freeze", freeze);
            m.put("lr_factors", new LinkedHashMap<>(lrFactors));
            return m;
        }
    }

    /** An exponential moving average of the weights ({@code decay} 0: off), with timm's warm-up. */
    /**
     * {@code train.ema}: an average of the weights ({@code decay} 0: off), validated every epoch beside the model, or
     * instead of it ({@code validate_model: false}: one validation pass an epoch).
     */
    public record Ema(double decay, boolean warmup, boolean validateModel) {
        public boolean on() {
            return decay > 0;
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("decay", decay);
            if (on()) {
                m.put("warmup", warmup);
                m.put("validate_model", validateModel);
            }
            return m;
        }
    }

    /** Early stopping: after more than {@code patience} epochs without {@code monitor} improving by {@code minDelta} (patience 0: off). */
    public record EarlyStop(Metric monitor, int patience, double minDelta) {
        public boolean on() {
            return patience > 0;
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            if (on()) m.put("monitor", monitor.word);
            m.put("patience", patience);
            if (on()) m.put("min_delta", minDelta);
            return m;
        }
    }

    /** A config given as YAML text (as a config file holds it); relative paths in it are taken from {@code base}. */
    public static RunConfig parse(String yaml, Path base) {
        return from(ConfigNode.parse(yaml, "config text"), base);
    }

    /** A config file; relative paths in it are taken from {@code base} (the CLI uses the current directory). */
    public static RunConfig load(Path file, Path base) {
        return from(ConfigNode.load(file), base);
    }

    public static RunConfig from(ConfigNode root, Path base) {
        base = base.toAbsolutePath(); // the resolved config names absolute folders, so a run can be tested from
        // anywhere
        Section s = new Section(root);
        String name = s.string("name", "run");
        if (!name.matches("[A-Za-z0-9._-]+") || name.matches("\\.+")) {
            throw root.get("name")
                    .error("expected a run name of letters, digits, '.', '_' or '-' (not '.' or '..'), got '" + name
                            + "'");
        }
        long seed = s.longValue("seed", 42, 0, Long.MAX_VALUE);
        Model model = model(s.section("model"), base);
        Data data = data(s.section("data"), base);
        Train train = train(s.section("train"));
        s.rejectUnknown();
        return new RunConfig(name, seed, model, data, train);
    }

    static Model model(Section n, Path base) {
        if (!n.has("name"))
            throw n.node().error("'name' is required (one of: " + String.join(", ", Models.names()) + ")");
        String name = n.choice("name", null, Models.names());
        Arch arch = Models.preset(name);
        ConfigNode options = n.raw("options");
        if (n.has("options")) arch = arch.withOverrides(options);
        Section init = n.section("init");
        String conv = init.choice("conv", "kaiming", Init.CONV), linear = init.choice("linear", "normal", Init.LINEAR);
        Path weights;
        String pretrainedName = null;
        if (init.has("weights") && init.raw("weights").asString().startsWith(Pretrained.SCHEME)) {
            // torchvision:vgg19 — the published file, through the cache (fetched when the run starts, if missing)
            String pretrained = init.string("weights", null);
            try {
                pretrainedName = pretrained.substring(Pretrained.SCHEME.length());
                weights = Pretrained.cached(pretrainedName);
            } catch (UserException e) {
                throw init.raw("weights").error(e.getMessage());
            }
        } else {
            weights = init.path("weights", base);
        }
        boolean dropHead = init.bool("drop_head", false);
        return new Model(name, arch, conv, linear, weights, dropHead, init.bool("zero_last", false), pretrainedName);
    }

    static Data data(Section n, Path base) {
        if (!n.has("train"))
            throw n.node()
                    .error("'train' is required: a folder with one sub-folder of images per class, or a CSV manifest"
                            + " (path,label)");
        Path train = n.path("train", base), trainLabels = n.path("train_labels", base);
        Path val = n.path("val", base), valLabels = n.path("val_labels", base);
        if (valLabels != null && val == null)
            throw n.raw("val_labels").error("needs 'val': the folder of the images it labels");
        double valSplit = n.number("val_split", 0.2, 0, 0.9);
        int size = n.integer("image_size", 224, 8, 4096);
        int batch = n.integer("batch_size", 32, 1, 1 << 16);
        int workers = n.integer("workers", Math.max(1, Runtime.getRuntime().availableProcessors()), 1, 256);
        Loader.OnBadImage onBad = n.choice("on_bad_image", Loader.OnBadImage.ERROR);
        DecodedCache.Mode cache = n.choice("cache", DecodedCache.Mode.AUTO);
        double[] mean = null, std = null;
        if (n.has("mean")
                && !(!n.raw("mean").isList() && n.raw("mean").asString().equals("auto"))) {
            mean = n.numbers("mean", null, 0, 1);
            if (mean.length != 3) throw n.raw("mean").error("expected three values (R, G, B) in [0, 1], or 'auto'");
            if (!n.has("std"))
                throw n.raw("mean").error("is given without 'std'; give both (three values each), or mean: auto");
            std = n.numbers("std", null, 1e-6, 10);
            if (std.length != 3) throw n.raw("std").error("expected three values (R, G, B)");
        } else {
            n.raw("mean");
            n.raw("std");
        }
        Pipeline trainT = n.has("train_transforms")
                ? Pipeline.fromConfig(n.raw("train_transforms"), size)
                : new Pipeline(
                        List.of(
                                new Transforms.RandomResizedCrop(size, 0.08, 1, 3.0 / 4, 4.0 / 3),
                                new Transforms.WithProbability(new Transforms.HorizontalFlip(), 0.5)),
                        size);
        n.raw("train_transforms");
        Pipeline evalT = n.has("eval_transforms")
                ? Pipeline.fromConfig(n.raw("eval_transforms"), size)
                : new Pipeline(
                        List.of(
                                new Transforms.Resize((int) Math.round(size / 0.875), 0, 0),
                                new Transforms.CenterCrop(size)),
                        size);
        n.raw("eval_transforms");
        return new Data(
                train,
                trainLabels,
                val,
                valLabels,
                valSplit,
                size,
                batch,
                workers,
                onBad,
                cache,
                mean,
                std,
                trainT,
                evalT);
    }

    static Train train(Section n) {
        int epochs = n.integer("epochs", 10, 1, 100_000);
        OptimizerConfig optimizer = optimizer(n.section("optimizer"));
        ScheduleConfig schedule = schedule(n.section("schedule"));
        PrecisionSetting precision = n.choice("precision", PrecisionSetting.AUTO);
        Train t = new Train(
                epochs,
                optimizer,
                schedule,
                precision,
                n.integer("threads", 0, 0, 1024),
                n.integer("checkpoint_every", 0, 0, 100_000),
                n.number("label_smoothing", 0, 0, 0.99),
                n.integer("freeze_epochs", 0, 0, 100_000),
                n.bool("channels_last", true),
                n.integer("keep_best", 1, 1, 10_000),
                n.choice("best_metric", Metric.VAL_ACC),
                logFile(n),
                n.choice("log_level", LogLevel.INFO),
                n.number("progress_seconds", 30, 0, 86_400),
                mixing(n.section("mixup")),
                n.number("clip_grad_norm", 0, 0, 1e6),
                earlyStop(n.section("early_stopping")),
                n.integer("accumulate", 1, 1, 1024),
                ema(n.section("ema")),
                freeze(n),
                lrFactors(n.section("lr_factors")));
        checkValidatedFigures(n, t.ema(), t.bestMetric(), t.earlyStop(), schedule);
        return t;
    }

    /**
     * {@code train.freeze}: the parts of the network to hold fixed — group names ({@code stem}, {@code stage1}, ...,
     * {@code head}, {@code backbone}, {@code pretrained}) or layer names ({@code layer1.0}, {@code features.0}),
     * checked against the model when the run starts. Without it, {@code freeze_epochs > 0} freezes what
     * {@code model.init.weights} loaded (its meaning before {@code freeze} existed).
     */
    static List<String> freeze(Section n) {
        List<String> words = new ArrayList<>();
        ConfigNode list = n.raw("freeze");
        if (n.has("freeze")) {
            if (!list.isList()) throw list.error("expected a list of group or layer names, e.g. [stem, stage1]");
            for (ConfigNode item : list.asList()) {
                String w = item.asString();
                if (!w.matches("[A-Za-z0-9_.]+") || w.startsWith(".") || w.endsWith("."))
                    throw item.error("expected a group (stem, stage1, ..., head, backbone, pretrained) or a layer name"
                            + " such as layer1.0, got '" + w + "'");
                if (!words.contains(w)) words.add(w);
            }
        } else if (n.node().has("freeze_epochs")
                && n.node().get("freeze_epochs").asInt(0, 100_000) > 0) {
            words.add("pretrained");
        }
        return words;
    }

    /**
     * {@code train.lr_factors}: a factor on the learning rate per group or layer name ({@code {backbone: 0.1}}); where
     * several name a parameter, the last one decides; a parameter none names keeps {@code optimizer.pretrained_lr_factor}
     * if it was loaded from {@code model.init.weights}, else 1.
     */
    static Map<String, Double> lrFactors(Section f) {
        Map<String, Double> m = new LinkedHashMap<>();
        if (!f.node().isMapping())
            throw f.node().error("expected group or layer names with factors, e.g. {backbone: 0.1, head: 1}");
        for (String key : f.node().keys()) m.put(key, f.number(key, 1, 0, 100));
        return m;
    }

    static Mixing mixing(Section m) {
        return new Mixing(
                m.number("mixup_alpha", 0, 0, 100),
                m.number("cutmix_alpha", 0, 0, 100),
                m.number("prob", 1, 0, 1),
                m.number("switch_prob", 0.5, 0, 1));
    }

    static Ema ema(Section e) {
        return new Ema(e.number("decay", 0, 0, 0.999999999), e.bool("warmup", true), e.bool("validate_model", true));
    }

    /**
     * With {@code ema.validate_model: false} the model's own validation figures are not computed, so nothing may rank
     * or watch them: checked where the key is written.
     */
    static void checkValidatedFigures(Section n, Ema ema, Metric best, EarlyStop es, ScheduleConfig schedule) {
        if (!ema.on() || ema.validateModel()) return;
        List<String> needs = new ArrayList<>();
        if (best.needsValidation() && !best.ofAverage()) needs.add("best_metric: " + best.word());
        if (es.on() && es.monitor().needsValidation() && !es.monitor().ofAverage())
            needs.add("early_stopping.monitor: " + es.monitor().word());
        if (schedule instanceof ScheduleConfig.Plateau p
                && p.monitor().needsValidation()
                && !p.monitor().ofAverage())
            needs.add("schedule.monitor: " + p.monitor().word());
        if (!needs.isEmpty())
            throw n.section("ema")
                    .raw("validate_model")
                    .error("validate_model: false leaves the model's own"
                            + " validation figures out, but " + String.join(", ", needs)
                            + " needs them; expected ema_val_acc or ema_val_loss there (or validate_model: true)");
    }

    static EarlyStop earlyStop(Section e) {
        return new EarlyStop(
                e.choice("monitor", Metric.VAL_LOSS),
                e.integer("patience", 0, 0, 100_000),
                e.number("min_delta", 0, 0, 1e6));
    }

    static OptimizerConfig optimizer(Section o) {
        OptimizerConfig.Kind kind = o.choice("name", OptimizerConfig.Kind.SGD);
        double lr = o.number("lr", kind == OptimizerConfig.Kind.SGD ? 0.01 : 0.001, 1e-12, 10);
        double momentum = o.number("momentum", 0.9, 0, 0.9999);
        boolean nesterov = o.bool("nesterov", true);
        double weightDecay = o.number("weight_decay", kind == OptimizerConfig.Kind.ADAMW ? 0.01 : 5e-4, 0, 1);
        double[] betas = o.numbers("betas", new double[] {0.9, 0.999}, 0, 0.999999);
        if (betas.length != 2) throw o.raw("betas").error("expected [beta1, beta2]");
        OptimizerConfig c = new OptimizerConfig(
                kind,
                lr,
                momentum,
                nesterov,
                weightDecay,
                betas[0],
                betas[1],
                o.bool("decay_norm_and_bias", true),
                o.number("pretrained_lr_factor", 1, 0, 10));
        if (c.nesterov() && c.momentum() == 0 && kind == OptimizerConfig.Kind.SGD)
            throw o.raw("nesterov").error("Nesterov needs momentum > 0");
        return c;
    }

    /** Every setting is read and checked, those of other kinds too (accepted, and left out of the resolved config). */
    static ScheduleConfig schedule(Section s) {
        String name = s.choice("name", "constant", ScheduleConfig.NAMES);
        int warmup = s.integer("warmup_epochs", 0, 0, 10_000);
        double etaMin = s.number("eta_min", 0, 0, 10),
                tMax = s.number("t_max", 0, 0, 1e6),
                tMult = s.number("t_mult", 1, 1, 100);
        double etaMinLate = s.number("eta_min_late", 0, 0, 10);
        int etaMinLateEpoch = s.integer("eta_min_late_epoch", 0, 0, 1_000_000),
                stepSize = s.integer("step_size", 30, 1, 100_000);
        double gamma = s.number("gamma", 0.1, 0, 1);
        int[] milestones = s.integers("milestones", new int[0], 1, 1_000_000);
        for (int i = 1; i < milestones.length; i++) {
            if (milestones[i] <= milestones[i - 1])
                throw s.raw("milestones")
                        .error("expected epochs in increasing order, got " + Arrays.toString(milestones));
        }
        Metric monitor = s.choice("monitor", Metric.VAL_ACC, ScheduleConfig.Plateau.MONITORS);
        ScheduleConfig.Plateau plateau = new ScheduleConfig.Plateau(
                warmup,
                monitor,
                s.choice("mode", ScheduleConfig.Plateau.Mode.of(monitor)),
                s.number("factor", 0.1, 1e-6, 0.999999),
                s.integer("patience", 10, 0, 100_000),
                s.number("threshold", 1e-4, 0, 1),
                s.integer("cooldown", 0, 0, 100_000),
                s.number("min_lr", 0, 0, 10));
        ScheduleConfig.OneCycle oneCycle = new ScheduleConfig.OneCycle(
                s.number("pct_start", 0.3, 0.001, 0.999),
                s.number("div_factor", 25, 1, 1e6),
                s.number("final_div_factor", 1e4, 1, 1e9));
        return switch (name) {
            case "constant" -> new ScheduleConfig.Constant(warmup);
            case "cosine" -> new ScheduleConfig.Cosine(warmup, etaMin, tMax, etaMinLate, etaMinLateEpoch);
            case "cosine_restarts" ->
                new ScheduleConfig.CosineRestarts(warmup, etaMin, tMax, tMult, etaMinLate, etaMinLateEpoch);
            case "step" -> new ScheduleConfig.Step(warmup, stepSize, gamma);
            case "multistep" -> new ScheduleConfig.MultiStep(warmup, gamma, milestones);
            case "plateau" -> plateau;
            case "onecycle" -> oneCycle;
            default -> throw new IllegalStateException(name); // NAMES holds no other word
        };
    }

    private static String logFile(Section n) {
        String f = n.string("log_file", RunDir.DEFAULT_LOG);
        if (RunDir.isReserved(f)) {
            throw n.raw("log_file")
                    .error("'" + f
                            + "' is a name the run directory uses for something else; choose another, e.g. "
                            + RunDir.DEFAULT_LOG);
        }
        if (!f.matches("[A-Za-z0-9._-]+") || f.equals(".") || f.equals("..")) {
            throw n.raw("log_file")
                    .error("expected a file name inside the run directory (letters, digits, '.', '_' or '-'), got '" + f
                            + "'");
        }
        return f;
    }

    private static double[] doubles(float[] f) {
        return new double[] {f[0], f[1], f[2]};
    }

    private static List<Double> list(double[] d) {
        List<Double> out = new ArrayList<>();
        for (double x : d) out.add(x);
        return out;
    }

    /** This config with the normalisation a run resolved (measured, or read from {@code rgb_mean.json}). */
    public RunConfig withNormalization(float[] mean, float[] std) {
        return new RunConfig(name, seed, model, data.withNormalization(mean, std), train);
    }

    /** This config with the data cache a run chose ({@code auto} resolved to {@code ram} or {@code none}). */
    public RunConfig withCache(DecodedCache.Mode mode) {
        return new RunConfig(name, seed, model, data.withCache(mode), train);
    }

    /** This config with the precision a run chose ({@code auto} resolved for this machine). */
    public RunConfig withPrecision(Precision precision) {
        return new RunConfig(name, seed, model, data, train.withPrecision(PrecisionSetting.of(precision)));
    }

    /** The resolved config, every default filled in, as the YAML of {@code config.yaml}; reading it back gives the same config. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("seed", seed);
        m.put("model", model.toMap());
        m.put("data", data.toMap());
        m.put("train", train.toMap());
        return m;
    }
}
