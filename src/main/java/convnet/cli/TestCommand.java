package convnet.cli;

import convnet.UserException;
import convnet.config.ConfigNode;
import convnet.config.RunConfig;
import convnet.data.ImageFolder;
import convnet.data.Loader;
import convnet.data.Images;
import convnet.data.Sample;
import convnet.eval.Classifier;
import convnet.eval.ConfusionPlot;
import convnet.eval.DenseEvaluator;
import convnet.eval.TestTime;
import java.util.ArrayList;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
import convnet.engine.Engine;
import convnet.eval.Evaluator;
import convnet.eval.Metrics;
import convnet.eval.ModelBundle;
import convnet.eval.Predictions;
import convnet.model.Net;
import convnet.report.Files2;
import convnet.report.Logs;
import convnet.train.Checkpoints;
import convnet.train.Precision;
import convnet.train.Training;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "test", mixinStandardHelpOptions = true,
        description = "Evaluate a trained run: top-1, top-5, loss, per-class accuracy and confusion matrix, on the validation split unless --data is given.")
final class TestCommand implements Runnable {
    @Mixin Common common;

    @Parameters(index = "0..*", arity = "1..*", paramLabel = "RUN",
            description = "Run directories; with several, their softmax posteriors are averaged (model fusion).")
    List<Path> runs;

    @Option(names = "--checkpoint", paramLabel = "model|best|last|PATH", defaultValue = "model",
            description = "Weights to test: the model bundle (default), or a checkpoint.")
    String checkpoint;

    @Option(names = "--data", paramLabel = "DIR", description = "A folder-per-class dataset to test on instead of the validation split.")
    Path data;

    @Option(names = "--precision", defaultValue = "32", description = "32 or bf16-mixed.")
    String precision;

    @Option(names = "--dense", description = "Dense evaluation: fully-connected layers as convolutions over the whole rescaled image.")
    boolean dense;

    @Option(names = "--crops", defaultValue = "0", paramLabel = "N", description = "Multi-crop: an N×N grid of crops per scale.")
    int crops;

    @Option(names = "--scales", split = ",", paramLabel = "Q,...", description = "Test scales (shorter side), e.g. 224,256,288.")
    List<Integer> scales;

    @Option(names = "--multi-scale", description = "Scales {S-32, S, S+32} around the training scale S.")
    boolean multiScale;

    @Option(names = "--flip", description = "Average the posteriors of each view and its mirror image.")
    boolean flip;

    @Option(names = "--json", description = "Print one JSON document on stdout and nothing else there.")
    boolean json;

    record Loaded(Path run, ModelBundle bundle, Net net, DenseEvaluator dense) {}

    @Override
    public void run() {
        if (json) Logs.quiet();
        Engine.start(common.threads);
        Precision prec = Precision.of(precision);
        List<Loaded> models = new ArrayList<>();
        for (Path run : runs) models.add(load(run));
        ModelBundle first = models.get(0).bundle;
        for (Loaded m : models) {
            if (!m.bundle.classes().equals(first.classes())) {
                throw new UserException("cannot fuse " + runs.get(0) + " and " + m.run + ": their classes differ");
            }
        }
        List<Sample> samples;
        String split;
        if (data != null) {
            samples = ImageFolder.scan(data, first.classes()).samples;
            split = data.toString();
        } else {
            Path cfg = runs.get(0).resolve("config.yaml");
            if (!Files.isRegularFile(cfg)) throw new UserException(runs.get(0) + ": no config.yaml, so the validation split is unknown; give --data DIR");
            RunConfig rc = RunConfig.from(ConfigNode.load(cfg), Path.of("").toAbsolutePath());
            samples = Training.validationSamples(rc);
            split = "validation";
            if (samples.isEmpty()) throw new UserException(runs.get(0) + ": the run has no validation split (data.val_split is 0); give --data DIR");
        }
        int s0 = trainingScale(first);
        // the paper's {S-32, S, S+32}; for small training scales the same spread in proportion
        List<Integer> qs = scales != null ? scales : !multiScale ? List.of()
                : s0 > 128 ? List.of(s0 - 32, s0, s0 + 32) : List.of(Math.round(s0 * 7 / 8f), s0, Math.round(s0 * 9 / 8f));
        for (int q : qs) if (q < 8 || q > 8192) throw new UserException("--scales: each scale must be in [8, 8192], got " + q);
        if (crops < 0 || crops > 10) throw new UserException("--crops must be in [0, 10], got " + crops);
        TestTime tt = new TestTime(qs, dense, crops, flip);
        Predictions p;
        if (tt.isPlain() && models.size() == 1) {
            int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
            try (Loader loader = new Loader(samples, first.evalTransforms(), first.mean(), first.std(), 64, false, false, 0, workers, Loader.OnBadImage.ERROR)) {
                p = Evaluator.run(models.get(0).net, loader, prec);
            }
        } else {
            p = perImage(models, samples, tt, prec);
        }
        Metrics m = Metrics.of(p, first.classes().size());
        Path out = runs.get(0).resolve("test");
        writeConfusion(out, first.classes(), m);
        ConfusionPlot.write(out.resolve("confusion.png"), first.classes(), m.confusion());
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("runs", runs.stream().map(Path::toString).toList());
            doc.put("split", split);
            doc.put("weights", checkpoint);
            doc.put("method", tt.describe());
            doc.put("images", m.count());
            doc.put("top1", m.top1());
            doc.put("top5", m.top5());
            doc.put("loss", m.loss());
            Map<String, Object> per = new LinkedHashMap<>();
            for (int c = 0; c < first.classes().size(); c++) per.put(first.classes().get(c), Double.isNaN(m.perClass()[c]) ? null : m.perClass()[c]);
            doc.put("per_class", per);
            doc.put("confusion", m.confusion());
            Json.print(doc);
        } else {
            System.out.printf(Locale.ROOT, "%s on %s (%d images, %s%s): top-1 %.4f  top-5 %.4f  loss %.4f%n", String.join(" + ", runs.stream().map(Path::toString).toList()),
                    split, m.count(), tt.describe(), models.size() > 1 ? ", " + models.size() + " models fused" : "", m.top1(), m.top5(), m.loss());
            System.out.println("per-class accuracy:");
            for (int c = 0; c < first.classes().size(); c++) {
                System.out.printf(Locale.ROOT, "  %-20s %s%n", first.classes().get(c), Double.isNaN(m.perClass()[c]) ? "-" : String.format(Locale.ROOT, "%.4f", m.perClass()[c]));
            }
            System.out.println("confusion matrix: " + out.resolve("confusion.csv") + ", " + out.resolve("confusion.png"));
        }
    }

    private Loaded load(Path run) {
        Path modelDir = run.resolve("model");
        ModelBundle bundle = ModelBundle.read(modelDir);
        Net net = bundle.loadNet(modelDir);
        if (!checkpoint.equals("model")) {
            Path ckpt = switch (checkpoint) {
                case "best", "last" -> {
                    Path p = new Checkpoints(run).resolve(checkpoint);
                    if (p == null) throw new UserException(run + ": no '" + checkpoint + "' checkpoint");
                    yield p;
                }
                default -> Path.of(checkpoint);
            };
            Checkpoints.load(ckpt, net, null);
            net.eval();
        }
        return new Loaded(run, bundle, net, new DenseEvaluator(net));
    }

    /** The training scale S: the shorter side the evaluation transforms resize to, else the input size. */
    static int trainingScale(ModelBundle b) {
        for (var t : b.evalTransforms().ops) if (t instanceof convnet.data.transform.Ops.Resize r && r.size() > 0) return r.size();
        return b.imageSize();
    }

    /**
     * Images decoded and evaluated per chunk, so that the views of several images share a batch: up to
     * {@code CHUNK} images, fewer when they are large (decoded pixels held at once stay near {@code CHUNK_PIXELS}).
     */
    static final int CHUNK = 32;
    static final long CHUNK_PIXELS = 32L * 1024 * 1024;

    private static Predictions perImage(List<Loaded> models, List<Sample> samples, TestTime tt, Precision prec) {
        int n = samples.size(), c = models.get(0).bundle.classes().size();
        float[][] probs = new float[n][];
        int[] labels = new int[n];
        double loss = 0;
        for (int from = 0, to; from < n; from = to) {
            try (PointerScope scope = new PointerScope()) {
                List<Mat> imgs = new java.util.ArrayList<>();
                long pixels = 0;
                for (to = from; to < n && to - from < CHUNK && pixels < CHUNK_PIXELS; to++) {
                    Mat img = Images.decode(samples.get(to).file());
                    pixels += (long) img.rows() * img.cols();
                    imgs.add(img);
                }
                for (int i = from; i < to; i++) probs[i] = new float[c];
                for (Loaded m : models) {
                    float[][] p;
                    if (tt.isPlain()) {
                        int size = m.bundle.imageSize(), plane = 3 * size * size;
                        float[] px = new float[imgs.size() * plane];
                        for (int i = 0; i < imgs.size(); i++) m.bundle.evalTransforms().run(imgs.get(i), new java.util.Random(0), m.bundle.mean(), m.bundle.std(), px, i * plane);
                        p = new Classifier.Raw(m.net, size, prec).probabilities(px, imgs.size());
                    } else {
                        p = tt.posteriors(m.net, m.dense, imgs, m.bundle.imageSize(), m.bundle.mean(), m.bundle.std(), prec);
                    }
                    for (int i = from; i < to; i++) for (int k = 0; k < c; k++) probs[i][k] += p[i - from][k] / models.size();
                }
            }
            for (int i = from; i < to; i++) {
                labels[i] = samples.get(i).label();
                loss += -Math.log(Math.max(1e-12, probs[i][labels[i]]));
            }
        }
        return new Predictions(probs, labels, n == 0 ? Double.NaN : loss / n);
    }

    static void writeConfusion(Path dir, List<String> classes, Metrics m) {
        StringBuilder sb = new StringBuilder("true\\predicted");
        for (String c : classes) sb.append(',').append(c);
        sb.append('\n');
        for (int i = 0; i < classes.size(); i++) {
            sb.append(classes.get(i));
            for (long v : m.confusion()[i]) sb.append(',').append(v);
            sb.append('\n');
        }
        Files2.writeString(dir.resolve("confusion.csv"), sb.toString());
    }
}
