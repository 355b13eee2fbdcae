package convnet.run;

import convnet.config.ConfigNode;
import convnet.config.Section;
import convnet.data.transform.Ops;
import convnet.data.transform.Pipeline;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The whole configuration of a training run, typed and validated. Each key is read in one line below,
 * with its default and range; what was read, defaults filled in, is the resolved config that is saved
 * with the run ({@link #toMap}), and a key no line reads is an error ({@link Section}).
 */
public record RunConfig(String name, long seed, Model model, Data data, Train train, Map<String, Object> resolved) {

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
    }

    /**
     * {@code train} and {@code val}: a folder per class, a CSV manifest ({@code .csv}), a processed dir
     * ({@code train} only), or with {@code trainLabels} / {@code valLabels} a flat folder and its labels file.
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
            String onBadImage,
            String cache,
            float[] mean,
            float[] std,
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
                    mean,
                    std,
                    trainTransforms,
                    evalTransforms);
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
            String precision,
            int threads,
            int checkpointEvery,
            double labelSmoothing,
            int freezeEpochs,
            boolean channelsLast,
            int keepBest,
            String bestMetric,
            String logFile,
            String logLevel,
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
            lrFactors = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(lrFactors));
        }
    }

    /** An exponential moving average of the weights ({@code decay} 0: off), with timm's warm-up. */
    public record Ema(double decay, boolean warmup) {
        public boolean on() {
            return decay > 0;
        }
    }

    /** Early stopping: after more than {@code patience} epochs without {@code monitor} improving by {@code minDelta} (patience 0: off). */
    public record EarlyStop(String monitor, int patience, double minDelta) {
        public boolean on() {
            return patience > 0;
        }
    }

    /** The schedule settings each schedule uses (the others are accepted, and left out of the resolved config). */
    static final Map<String, List<String>> APPLIES = Map.of(
            "constant", List.of("name", "warmup_epochs"),
            "cosine", List.of("name", "warmup_epochs", "eta_min", "t_max", "eta_min_late", "eta_min_late_epoch"),
            "cosine_restarts",
                    List.of(
                            "name",
                            "warmup_epochs",
                            "eta_min",
                            "t_max",
                            "t_mult",
                            "eta_min_late",
                            "eta_min_late_epoch"),
            "step", List.of("name", "warmup_epochs", "step_size", "gamma"),
            "multistep", List.of("name", "warmup_epochs", "milestones", "gamma"),
            "plateau",
                    List.of(
                            "name",
                            "warmup_epochs",
                            "monitor",
                            "mode",
                            "factor",
                            "patience",
                            "threshold",
                            "cooldown",
                            "min_lr"),
            "onecycle", List.of("name", "pct_start", "div_factor", "final_div_factor"));

    public static final List<String> PRECISIONS = List.of("auto", "32", "bf16-mixed", "16-mixed");

    /** Reads and validates a config; {@code base} resolves relative dataset paths. */
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
        return new RunConfig(name, seed, model, data, train, s.resolved());
    }

    static Model model(Section n, Path base) {
        if (!n.has("name"))
            throw n.node().error("'name' is required (one of: " + String.join(", ", Models.names()) + ")");
        String name = n.choice("name", null, Models.names());
        Arch arch = Models.preset(name);
        if (n.has("options")) arch = arch.withOverrides(n.raw("options"));
        n.put("options", arch.toMap());
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
            } catch (convnet.UserException e) {
                throw init.raw("weights").error(e.getMessage());
            }
        } else {
            weights = init.path("weights", base);
        }
        boolean dropHead = init.bool("drop_head", false);
        if (weights == null) init.omit("drop_head");
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
        String onBad = n.choice("on_bad_image", "error", "error", "skip");
        String cache = n.choice("cache", "auto", "auto", "ram", "none");
        float[] mean = null, std = null;
        if (n.has("mean")
                && !(!n.raw("mean").isList() && n.raw("mean").asString().equals("auto"))) {
            mean = floats(n.numbers("mean", null, 0, 1));
            if (mean.length != 3) throw n.raw("mean").error("expected three values (R, G, B) in [0, 1], or 'auto'");
            if (!n.has("std"))
                throw n.raw("mean").error("is given without 'std'; give both (three values each), or mean: auto");
            std = floats(n.numbers("std", null, 1e-6, 10));
            if (std.length != 3) throw n.raw("std").error("expected three values (R, G, B)");
        } else {
            n.put("mean", "auto");
            n.raw("std");
        }
        Pipeline trainT = n.has("train_transforms")
                ? Pipeline.fromConfig(n.raw("train_transforms"), size)
                : new Pipeline(
                        List.of(
                                new Ops.RandomResizedCrop(size, 0.08, 1, 3.0 / 4, 4.0 / 3),
                                new Ops.WithProbability(new Ops.HorizontalFlip(), 0.5)),
                        size);
        n.put("train_transforms", trainT.toList());
        Pipeline evalT = n.has("eval_transforms")
                ? Pipeline.fromConfig(n.raw("eval_transforms"), size)
                : new Pipeline(
                        List.of(new Ops.Resize((int) Math.round(size / 0.875), 0, 0), new Ops.CenterCrop(size)), size);
        n.put("eval_transforms", evalT.toList());
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
        String precision = n.choice("precision", "auto", PRECISIONS);
        return new Train(
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
                n.choice("best_metric", Metric.VAL_ACC.word, Metric.words()),
                logFile(n),
                n.choice("log_level", "info", "debug", "info", "warn", "error"),
                n.number("progress_seconds", 30, 0, 86_400),
                mixing(n.section("mixup")),
                n.number("clip_grad_norm", 0, 0, 1e6),
                earlyStop(n.section("early_stopping")),
                n.integer("accumulate", 1, 1, 1024),
                ema(n.section("ema")),
                freeze(n),
                lrFactors(n.section("lr_factors")));
    }

    /**
     * {@code train.freeze}: the parts of the network to hold fixed — group names ({@code stem}, {@code stage1}, ...,
     * {@code head}, {@code backbone}, {@code pretrained}) or layer names ({@code layer1.0}, {@code features.0}),
     * checked against the model when the run starts. Without it, {@code freeze_epochs > 0} freezes what
     * {@code model.init.weights} loaded (its meaning before {@code freeze} existed).
     */
    static List<String> freeze(Section n) {
        List<String> words = new java.util.ArrayList<>();
        if (n.has("freeze")) {
            convnet.config.ConfigNode list = n.raw("freeze");
            if (!list.isList()) throw list.error("expected a list of group or layer names, e.g. [stem, stage1]");
            for (convnet.config.ConfigNode item : list.asList()) {
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
        n.put("freeze", words);
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
        Mixing mix = new Mixing(
                m.number("mixup_alpha", 0, 0, 100),
                m.number("cutmix_alpha", 0, 0, 100),
                m.number("prob", 1, 0, 1),
                m.number("switch_prob", 0.5, 0, 1));
        if (!mix.on()) m.keepOnly(List.of("mixup_alpha", "cutmix_alpha"));
        return mix;
    }

    static Ema ema(Section e) {
        Ema ema = new Ema(e.number("decay", 0, 0, 0.999999999), e.bool("warmup", true));
        if (!ema.on()) e.keepOnly(List.of("decay"));
        return ema;
    }

    static EarlyStop earlyStop(Section e) {
        EarlyStop es = new EarlyStop(
                e.choice("monitor", Metric.VAL_LOSS.word, Metric.words()),
                e.integer("patience", 0, 0, 100_000),
                e.number("min_delta", 0, 0, 1e6));
        if (!es.on()) e.keepOnly(List.of("patience"));
        return es;
    }

    static OptimizerConfig optimizer(Section o) {
        String opt = o.choice("name", "sgd", "sgd", "adam", "adamw");
        double lr = o.number("lr", opt.equals("sgd") ? 0.01 : 0.001, 1e-12, 10);
        double momentum = o.number("momentum", 0.9, 0, 0.9999);
        boolean nesterov = o.bool("nesterov", true);
        double weightDecay = o.number("weight_decay", opt.equals("adamw") ? 0.01 : 5e-4, 0, 1);
        double[] betas = o.numbers("betas", new double[] {0.9, 0.999}, 0, 0.999999);
        if (betas.length != 2) throw o.raw("betas").error("expected [beta1, beta2]");
        OptimizerConfig c = new OptimizerConfig(
                opt,
                lr,
                momentum,
                nesterov,
                weightDecay,
                betas[0],
                betas[1],
                o.bool("decay_norm_and_bias", true),
                o.number("pretrained_lr_factor", 1, 0, 10));
        if (opt.equals("sgd")) o.omit("betas");
        else o.omit("momentum", "nesterov");
        if (c.nesterov() && c.momentum() == 0 && opt.equals("sgd"))
            throw o.raw("nesterov").error("Nesterov needs momentum > 0");
        return c;
    }

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
                        .error("expected epochs in increasing order, got " + java.util.Arrays.toString(milestones));
        }
        String monitor = s.choice(
                "monitor",
                Metric.VAL_ACC.word,
                List.of(Metric.VAL_ACC.word, Metric.VAL_LOSS.word, Metric.TRAIN_LOSS.word));
        ScheduleConfig c = new ScheduleConfig(
                name,
                warmup,
                etaMin,
                stepSize,
                gamma,
                tMax,
                tMult,
                etaMinLate,
                etaMinLateEpoch,
                milestones,
                monitor,
                s.choice("mode", Metric.of(monitor).lowerIsBetter ? "min" : "max", "max", "min"),
                s.number("factor", 0.1, 1e-6, 0.999999),
                s.integer("patience", 10, 0, 100_000),
                s.number("threshold", 1e-4, 0, 1),
                s.integer("cooldown", 0, 0, 100_000),
                s.number("min_lr", 0, 0, 10),
                s.number("pct_start", 0.3, 0.001, 0.999),
                s.number("div_factor", 25, 1, 1e6),
                s.number("final_div_factor", 1e4, 1, 1e9));
        s.keepOnly(APPLIES.get(name)); // the resolved config shows the settings this schedule uses
        return c;
    }

    private static String logFile(Section n) {
        String f = n.string("log_file", "train.log");
        if (RunDir.isReserved(f)) {
            throw n.raw("log_file")
                    .error("'" + f
                            + "' is a name the run directory uses for something else; choose another, e.g. train.log");
        }
        if (!f.matches("[A-Za-z0-9._-]+") || f.equals(".") || f.equals("..")) {
            throw n.raw("log_file")
                    .error("expected a file name inside the run directory (letters, digits, '.', '_' or '-'), got '" + f
                            + "'");
        }
        return f;
    }

    private static float[] floats(double[] d) {
        if (d == null) return null;
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** This config with the normalisation a run resolved (measured, or read from {@code rgb_mean.json}). */
    @SuppressWarnings("unchecked")
    public RunConfig withNormalization(float[] mean, float[] std) {
        Map<String, Object> m = copy(resolved);
        Map<String, Object> d = new LinkedHashMap<>();
        for (var e : ((Map<String, Object>) m.get("data")).entrySet()) {
            if (e.getKey().equals("std")) continue;
            d.put(e.getKey(), e.getValue());
            if (e.getKey().equals("mean")) {
                d.put("mean", List.of((double) mean[0], (double) mean[1], (double) mean[2]));
                d.put("std", List.of((double) std[0], (double) std[1], (double) std[2]));
            }
        }
        m.put("data", d);
        return new RunConfig(name, seed, model, data.withNormalization(mean, std), train, m);
    }

    /** This config with the data cache a run chose ({@code auto} resolved to {@code ram} or {@code none}). */
    @SuppressWarnings("unchecked")
    public RunConfig withCache(String word) {
        Map<String, Object> m = copy(resolved);
        ((Map<String, Object>) m.get("data")).put("cache", word);
        Data d = data;
        Data chosen = new Data(
                d.train(),
                d.trainLabels(),
                d.val(),
                d.valLabels(),
                d.valSplit(),
                d.imageSize(),
                d.batchSize(),
                d.workers(),
                d.onBadImage(),
                word,
                d.mean(),
                d.std(),
                d.trainTransforms(),
                d.evalTransforms());
        return new RunConfig(name, seed, model, chosen, train, m);
    }

    /** This config with the precision a run chose ({@code auto} resolved for this machine). */
    @SuppressWarnings("unchecked")
    public RunConfig withPrecision(String word) {
        Map<String, Object> m = copy(resolved);
        ((Map<String, Object>) m.get("train")).put("precision", word);
        Train t = train;
        Train chosen = new Train(
                t.epochs(),
                t.optimizer(),
                t.schedule(),
                word,
                t.threads(),
                t.checkpointEvery(),
                t.labelSmoothing(),
                t.freezeEpochs(),
                t.channelsLast(),
                t.keepBest(),
                t.bestMetric(),
                t.logFile(),
                t.logLevel(),
                t.progressSeconds(),
                t.mixing(),
                t.clipGradNorm(),
                t.earlyStop(),
                t.accumulate(),
                t.ema(),
                t.freeze(),
                t.lrFactors());
        return new RunConfig(name, seed, model, data, chosen, m);
    }

    /** The resolved config with every default filled in; reading it back gives the same config. */
    public Map<String, Object> toMap() {
        return copy(resolved);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> copy(Map<String, Object> m) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (var e : m.entrySet())
            out.put(e.getKey(), e.getValue() instanceof Map<?, ?> sub ? copy((Map<String, Object>) sub) : e.getValue());
        return out;
    }
}
