package convnet.eval;

import convnet.UserException;
import convnet.bundle.ModelBundle;
import convnet.data.Images;
import convnet.data.Loader;
import convnet.data.Sample;
import convnet.data.transform.Transforms;
import convnet.engine.Precision;
import convnet.io.Csv;
import convnet.model.Net;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Scores one model, or several fused by averaging their softmax posteriors, on a set of labelled images,
 * with the plain evaluation transforms (through {@link EvalLoop}, the loop over a loader) or the VGG paper's
 * test-time methods ({@link TestTime}).
 */
public final class Evaluation {
    private Evaluation() {}

    /** A model to evaluate: where it came from (for messages), its bundle, and its network with the weights to test. */
    public record Model(String name, ModelBundle bundle, Net net) {}

    /**
     * Images decoded and evaluated per chunk, so that the views of several images share a batch: up to
     * {@code CHUNK} images, fewer when they are large (decoded pixels held at once stay near {@code CHUNK_PIXELS}).
     */
    static final int CHUNK = 32;

    static final long CHUNK_PIXELS = 32L * 1024 * 1024;

    /** Metrics of {@code models} (fused when several; their classes must agree) on {@code samples}. */
    public static Metrics run(List<Model> models, List<Sample> samples, TestTime method, Precision precision) {
        ModelBundle first = models.get(0).bundle();
        for (Model m : models) {
            if (!m.bundle().classes().equals(first.classes())) {
                throw new UserException(
                        "cannot fuse " + models.get(0).name() + " and " + m.name() + ": their classes differ");
            }
        }
        Predictions p;
        if (method.isPlain() && models.size() == 1) {
            int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
            try (Loader loader = new Loader(
                    samples,
                    first.evalTransforms(),
                    first.mean(),
                    first.std(),
                    Loader.Options.evaluation(64, workers, Loader.OnBadImage.ERROR))) {
                p = EvalLoop.run(models.get(0).net(), loader, precision);
            }
        } else {
            p = perImage(models, samples, method, precision);
        }
        return Metrics.of(p, first.classes().size());
    }

    /**
     * The test-time method the options ask for: {@code scales} (or, with {@code multiScale}, the paper's
     * {S-32, S, S+32} around the bundle's training scale S), {@code crops} per side, dense, flip.
     */
    public static TestTime method(
            ModelBundle bundle, List<Integer> scales, boolean multiScale, boolean dense, int crops, boolean flip) {
        int s0 = trainingScale(bundle);
        // the paper's {S-32, S, S+32}; for small training scales the same spread in proportion
        // without scales, a test-time view is cut at the training scale S, as the single view of the eval
        // transforms is (resize to S, center crop): --flip alone is that view and its mirror
        boolean anyView = dense || crops > 0 || flip;
        List<Integer> qs = scales != null
                ? scales
                : !multiScale
                        ? (anyView ? List.of(s0) : List.of())
                        : s0 > 128
                                ? List.of(s0 - 32, s0, s0 + 32)
                                : List.of(Math.round(s0 * 7 / 8f), s0, Math.round(s0 * 9 / 8f));
        for (int q : qs)
            if (q < 8 || q > 8192) throw new UserException("--scales: each scale must be in [8, 8192], got " + q);
        if (crops < 0 || crops > 10) throw new UserException("--crops must be in [0, 10], got " + crops);
        return new TestTime(qs, dense, crops, flip);
    }

    /** The training scale S: the shorter side the evaluation transforms resize to, else the input size. */
    static int trainingScale(ModelBundle b) {
        for (var t : b.evalTransforms().ops) if (t instanceof Transforms.Resize r && r.size() > 0) return r.size();
        return b.imageSize();
    }

    /** Writes the confusion matrix as a table ({@code csv}); {@code report.ConfusionPlot} draws it as a heat map. */
    public static void writeConfusion(Path csvFile, List<String> classes, Metrics m) {
        List<Object> header = new ArrayList<>(List.of("true\\predicted"));
        header.addAll(classes);
        Csv csv = new Csv().row(header);
        for (int i = 0; i < classes.size(); i++) {
            List<Object> row = new ArrayList<>(List.of(classes.get(i)));
            for (long v : m.confusion()[i]) row.add(v);
            csv.row(row);
        }
        csv.write(csvFile);
    }

    /**
     * Writes the per-class report ({@link ClassScores}): a row per class with precision, recall, F1 and support,
     * then the rows {@code macro avg} and {@code weighted avg}; a class with no figures has empty fields.
     */
    public static void writeReport(Path csvFile, List<String> classes, Metrics m) {
        ClassScores s = m.classScores();
        Csv csv = new Csv("class", "precision", "recall", "f1", "support");
        for (int c = 0; c < classes.size(); c++)
            csv.row(classes.get(c), figure(s.precision()[c]), figure(s.recall()[c]), figure(s.f1()[c]), s.support()[c]);
        for (var avg : List.of(Map.entry("macro avg", s.macro()), Map.entry("weighted avg", s.weighted())))
            csv.row(
                    avg.getKey(),
                    figure(avg.getValue().precision()),
                    figure(avg.getValue().recall()),
                    figure(avg.getValue().f1()),
                    avg.getValue().support());
        csv.write(csvFile);
    }

    private static String figure(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6f", v);
    }

    private static Predictions perImage(List<Model> models, List<Sample> samples, TestTime tt, Precision prec) {
        int n = samples.size(), c = models.get(0).bundle().classes().size();
        List<DenseEvaluator> dense =
                models.stream().map(m -> new DenseEvaluator(m.net())).toList();
        float[][] probs = new float[n][];
        int[] labels = new int[n];
        double loss = 0;
        for (int from = 0, to; from < n; from = to) {
            try (PointerScope scope = new PointerScope()) {
                List<Mat> imgs = new ArrayList<>();
                long pixels = 0;
                for (to = from; to < n && to - from < CHUNK && pixels < CHUNK_PIXELS; to++) {
                    Mat img = Images.decode(samples.get(to).file());
                    pixels += (long) img.rows() * img.cols();
                    imgs.add(img);
                }
                for (int i = from; i < to; i++) probs[i] = new float[c];
                for (int k = 0; k < models.size(); k++) {
                    float[][] p = posteriors(models.get(k), dense.get(k), imgs, tt, prec);
                    for (int i = from; i < to; i++)
                        for (int j = 0; j < c; j++) probs[i][j] += p[i - from][j] / models.size();
                }
            }
            for (int i = from; i < to; i++) {
                labels[i] = samples.get(i).label();
                loss += -Math.log(Math.max(1e-12, probs[i][labels[i]]));
            }
        }
        return new Predictions(probs, labels, n == 0 ? Double.NaN : loss / n);
    }

    private static float[][] posteriors(Model m, DenseEvaluator dense, List<Mat> imgs, TestTime tt, Precision prec) {
        ModelBundle b = m.bundle();
        if (!tt.isPlain()) return tt.posteriors(m.net(), dense, imgs, b.imageSize(), b.mean(), b.std(), prec);
        int size = b.imageSize(), plane = 3 * size * size;
        float[] px = new float[imgs.size() * plane];
        for (int i = 0; i < imgs.size(); i++)
            b.evalTransforms().run(imgs.get(i), new Random(0), b.mean(), b.std(), px, i * plane);
        return new Classifier.Posteriors(m.net(), size, prec).probabilities(px, imgs.size());
    }
}
