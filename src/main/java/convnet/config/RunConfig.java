package convnet.config;

import convnet.data.transform.Ops;
import convnet.data.transform.Pipeline;
import convnet.model.Arch;
import convnet.model.Init;
import convnet.model.ModelSpec;
import convnet.model.Models;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The whole configuration of a training run, typed and validated. Every default lives here;
 * {@link #toMap()} gives the resolved config that is saved with the run.
 */
public record RunConfig(String name, long seed, Model model, Data data, Train train) {

    public record Model(String name, Arch arch, String initConv, String initLinear, Path weights, boolean dropHead) {
        public ModelSpec spec(int numClasses) {
            return new ModelSpec(name, arch, numClasses, initConv, initLinear);
        }
    }

    public record Data(Path train, Path val, double valSplit, int imageSize, int batchSize, int workers, String onBadImage,
                       float[] mean, float[] std, Pipeline trainTransforms, Pipeline evalTransforms) {
        public boolean autoNormalize() {
            return mean == null;
        }
    }

    public record Optimizer(String name, double lr, double momentum, boolean nesterov, double weightDecay, double beta1, double beta2,
                            boolean decayNormAndBias, double pretrainedLrFactor) {
        public Optimizer(String name, double lr, double momentum, boolean nesterov, double weightDecay, double beta1, double beta2) {
            this(name, lr, momentum, nesterov, weightDecay, beta1, beta2, true, 1);
        }
    }

    public record Schedule(String name, int warmupEpochs, double etaMin, int stepSize, double gamma, double tMax, double tMult, double etaMinLate,
                           int etaMinLateEpoch, int[] milestones, String monitor, String mode, double factor, int patience, double threshold,
                           int cooldown, double minLr, double pctStart, double divFactor, double finalDivFactor) {
        public Schedule(String name, int warmupEpochs, double etaMin, int stepSize, double gamma) {
            this(name, warmupEpochs, etaMin, stepSize, gamma, 0, 1, 0, 0, new int[0], "val_acc", "max", 0.1, 10, 1e-4, 0, 0, 0.3, 25, 1e4);
        }
    }

    public static final List<String> SCHEDULES = List.of("constant", "cosine", "cosine_restarts", "step", "multistep", "plateau", "onecycle");

    /**
     * {@code keepBest}: how many of the best epoch checkpoints (by {@code bestMetric}; lower is better for
     * losses) stay on disk; {@code logFile} is the log's name inside the run directory.
     */
    public record Train(int epochs, Optimizer optimizer, Schedule schedule, String precision, int threads, int checkpointEvery, double labelSmoothing,
                        int freezeEpochs, boolean channelsLast, int keepBest, String bestMetric, String logFile, String logLevel) {}

    public static final List<String> PRECISIONS = List.of("32", "bf16-mixed", "16-mixed");
    public static final List<String> METRICS = List.of("val_acc", "val_loss", "val_top5", "train_acc", "train_loss");

    /** Reads and validates a config; {@code base} resolves relative dataset paths. */
    public static RunConfig from(ConfigNode root, Path base) {
        root.requireOnly("name", "seed", "model", "data", "train");
        String name = root.string("name", "run");
        if (!name.matches("[A-Za-z0-9._-]+")) throw root.get("name").error("expected a run name of letters, digits, '.', '_' or '-'");
        long seed = root.longValue("seed", 42, 0, Long.MAX_VALUE);
        return new RunConfig(name, seed, model(root.get("model"), base), data(root.get("data"), base), train(root.get("train")));
    }

    static Model model(ConfigNode n, Path base) {
        n.requireOnly("name", "options", "init");
        if (!n.has("name")) throw n.error("'name' is required (one of: " + String.join(", ", Models.names()) + ")");
        String name = n.get("name").asChoice(Models.names());
        Arch arch = Models.preset(name);
        if (n.has("options")) arch = arch.withOverrides(n.get("options"));
        ConfigNode init = n.get("init");
        init.requireOnly("conv", "linear", "weights", "drop_head");
        Path weights = init.has("weights") ? base.resolve(init.get("weights").asString()).normalize() : null;
        return new Model(name, arch, init.choice("conv", "kaiming", Init.CONV), init.choice("linear", "normal", Init.LINEAR), weights,
                init.bool("drop_head", false));
    }

    static Data data(ConfigNode n, Path base) {
        n.requireOnly("train", "val", "val_split", "image_size", "batch_size", "workers", "on_bad_image", "mean", "std",
                "train_transforms", "eval_transforms");
        if (!n.has("train")) throw n.error("'train' is required: a folder with one sub-folder of images per class");
        Path train = base.resolve(n.get("train").asString()).normalize();
        Path val = n.has("val") ? base.resolve(n.get("val").asString()).normalize() : null;
        double valSplit = n.number("val_split", 0.2, 0, 0.9);
        int size = n.integer("image_size", 224, 8, 4096);
        float[] mean = null, std = null;
        if (n.has("mean") && !(n.get("mean").isList() == false && n.get("mean").asString().equals("auto"))) {
            mean = floats(n.numbers("mean", null, 0, 1));
            if (mean.length != 3) throw n.get("mean").error("expected three values (R, G, B) in [0, 1], or 'auto'");
            std = floats(n.numbers("std", new double[] {1, 1, 1}, 1e-6, 10));
            if (std.length != 3) throw n.get("std").error("expected three values (R, G, B)");
        }
        Pipeline trainT = n.has("train_transforms") ? Pipeline.fromConfig(n.get("train_transforms"), size)
                : new Pipeline(List.of(new Ops.RandomResizedCrop(size, 0.08, 1, 3.0 / 4, 4.0 / 3), new Ops.WithProbability(new Ops.HorizontalFlip(), 0.5)), size);
        Pipeline evalT = n.has("eval_transforms") ? Pipeline.fromConfig(n.get("eval_transforms"), size)
                : new Pipeline(List.of(new Ops.Resize((int) Math.round(size / 0.875), 0, 0), new Ops.CenterCrop(size)), size);
        return new Data(train, val, valSplit, size, n.integer("batch_size", 32, 1, 1 << 16),
                n.integer("workers", Math.max(1, Runtime.getRuntime().availableProcessors()), 1, 256),
                n.choice("on_bad_image", "error", "error", "skip"), mean, std, trainT, evalT);
    }

    static Train train(ConfigNode n) {
        n.requireOnly("epochs", "optimizer", "schedule", "precision", "threads", "checkpoint_every", "label_smoothing", "freeze_epochs", "channels_last",
                "keep_best", "best_metric", "log_file", "log_level");
        ConfigNode o = n.get("optimizer");
        o.requireOnly("name", "lr", "momentum", "nesterov", "weight_decay", "betas", "decay_norm_and_bias", "pretrained_lr_factor");
        String opt = o.choice("name", "sgd", "sgd", "adam", "adamw");
        double[] betas = o.numbers("betas", new double[] {0.9, 0.999}, 0, 0.999999);
        if (betas.length != 2) throw o.get("betas").error("expected [beta1, beta2]");
        Optimizer optimizer = new Optimizer(opt, o.number("lr", opt.equals("sgd") ? 0.01 : 0.001, 1e-12, 10),
                o.number("momentum", 0.9, 0, 0.9999), o.bool("nesterov", true),
                o.number("weight_decay", opt.equals("adamw") ? 0.01 : 5e-4, 0, 1), betas[0], betas[1],
                o.bool("decay_norm_and_bias", true), o.number("pretrained_lr_factor", 1, 0, 10));
        if (optimizer.nesterov() && optimizer.momentum() == 0 && opt.equals("sgd")) throw o.get("nesterov").error("Nesterov needs momentum > 0");
        ConfigNode s = n.get("schedule");
        s.requireOnly("name", "warmup_epochs", "eta_min", "step_size", "gamma", "t_max", "t_mult", "eta_min_late", "eta_min_late_epoch",
                "milestones", "monitor", "mode", "factor", "patience", "threshold", "cooldown", "min_lr", "pct_start", "div_factor", "final_div_factor");
        String monitor = s.choice("monitor", "val_acc", "val_acc", "val_loss", "train_loss");
        Schedule schedule = new Schedule(s.has("name") ? s.get("name").asChoice(SCHEDULES) : "constant", s.integer("warmup_epochs", 0, 0, 10_000),
                s.number("eta_min", 0, 0, 10), s.integer("step_size", 30, 1, 100_000), s.number("gamma", 0.1, 0, 1),
                s.number("t_max", 0, 0, 1e6), s.number("t_mult", 1, 1, 100), s.number("eta_min_late", 0, 0, 10), s.integer("eta_min_late_epoch", 0, 0, 1_000_000),
                s.integers("milestones", new int[0], 1, 1_000_000), monitor, s.choice("mode", monitor.equals("val_acc") ? "max" : "min", "max", "min"),
                s.number("factor", 0.1, 1e-6, 0.999999), s.integer("patience", 10, 0, 100_000), s.number("threshold", 1e-4, 0, 1),
                s.integer("cooldown", 0, 0, 100_000), s.number("min_lr", 0, 0, 10), s.number("pct_start", 0.3, 0.001, 0.999),
                s.number("div_factor", 25, 1, 1e6), s.number("final_div_factor", 1e4, 1, 1e9));
        return new Train(n.integer("epochs", 10, 1, 100_000), optimizer, schedule,
                n.has("precision") ? n.get("precision").asChoice(PRECISIONS) : "32",
                n.integer("threads", 0, 0, 1024), n.integer("checkpoint_every", 0, 0, 100_000), n.number("label_smoothing", 0, 0, 0.99),
                n.integer("freeze_epochs", 0, 0, 100_000), n.bool("channels_last", true), n.integer("keep_best", 1, 1, 10_000),
                n.has("best_metric") ? n.get("best_metric").asChoice(METRICS) : "val_acc", logFile(n), n.choice("log_level", "info", "debug", "info", "warn", "error"));
    }

    private static String logFile(ConfigNode n) {
        if (!n.has("log_file")) return "train.log";
        String f = n.get("log_file").asString();
        if (!f.matches("[A-Za-z0-9._-]+") || f.equals(".") || f.equals("..")) {
            throw n.get("log_file").error("expected a file name inside the run directory (letters, digits, '.', '_' or '-'), got '" + f + "'");
        }
        return f;
    }

    private static float[] floats(double[] d) {
        if (d == null) return null;
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    private static List<Double> list(float[] f) {
        if (f == null) return null;
        return List.of((double) f[0], (double) f[1], (double) f[2]);
    }

    /** The resolved config with every default filled in; reading it back gives the same config. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("seed", seed);
        Map<String, Object> mo = new LinkedHashMap<>();
        mo.put("name", model.name);
        mo.put("options", model.arch.toMap());
        Map<String, Object> init = new LinkedHashMap<>();
        init.put("conv", model.initConv);
        init.put("linear", model.initLinear);
        if (model.weights != null) {
            init.put("weights", model.weights.toString());
            init.put("drop_head", model.dropHead);
        }
        mo.put("init", init);
        m.put("model", mo);
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("train", data.train.toString());
        if (data.val != null) d.put("val", data.val.toString());
        d.put("val_split", data.valSplit);
        d.put("image_size", data.imageSize);
        d.put("batch_size", data.batchSize);
        d.put("workers", data.workers);
        d.put("on_bad_image", data.onBadImage);
        d.put("mean", data.mean == null ? "auto" : list(data.mean));
        if (data.std != null) d.put("std", list(data.std));
        d.put("train_transforms", data.trainTransforms.toList());
        d.put("eval_transforms", data.evalTransforms.toList());
        m.put("data", d);
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("epochs", train.epochs);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("name", train.optimizer.name);
        o.put("lr", train.optimizer.lr);
        o.put("momentum", train.optimizer.momentum);
        o.put("nesterov", train.optimizer.nesterov);
        o.put("weight_decay", train.optimizer.weightDecay);
        o.put("betas", List.of(train.optimizer.beta1, train.optimizer.beta2));
        o.put("decay_norm_and_bias", train.optimizer.decayNormAndBias);
        o.put("pretrained_lr_factor", train.optimizer.pretrainedLrFactor);
        t.put("optimizer", o);
        Map<String, Object> s = new LinkedHashMap<>();
        Schedule sc = train.schedule;
        s.put("name", sc.name);
        s.put("warmup_epochs", sc.warmupEpochs);
        s.put("eta_min", sc.etaMin);
        s.put("t_max", sc.tMax);
        s.put("t_mult", sc.tMult);
        s.put("eta_min_late", sc.etaMinLate);
        s.put("eta_min_late_epoch", sc.etaMinLateEpoch);
        s.put("step_size", sc.stepSize);
        s.put("gamma", sc.gamma);
        List<Integer> ms = new java.util.ArrayList<>();
        for (int milestone : sc.milestones) ms.add(milestone);
        s.put("milestones", ms);
        s.put("monitor", sc.monitor);
        s.put("mode", sc.mode);
        s.put("factor", sc.factor);
        s.put("patience", sc.patience);
        s.put("threshold", sc.threshold);
        s.put("cooldown", sc.cooldown);
        s.put("min_lr", sc.minLr);
        s.put("pct_start", sc.pctStart);
        s.put("div_factor", sc.divFactor);
        s.put("final_div_factor", sc.finalDivFactor);
        t.put("schedule", s);
        t.put("precision", train.precision);
        t.put("threads", train.threads);
        t.put("checkpoint_every", train.checkpointEvery);
        t.put("label_smoothing", train.labelSmoothing);
        t.put("freeze_epochs", train.freezeEpochs);
        t.put("channels_last", train.channelsLast);
        t.put("keep_best", train.keepBest);
        t.put("best_metric", train.bestMetric);
        t.put("log_file", train.logFile);
        t.put("log_level", train.logLevel);
        m.put("train", t);
        return m;
    }
}
