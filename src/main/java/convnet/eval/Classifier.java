package convnet.eval;

import convnet.data.BadImageException;
import convnet.data.Images;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.Net;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A trained model ready to classify images from Java code:
 * {@code Classifier.load(Path.of("runs/quickstart/model")).predict(Path.of("rose.jpg"), 3)}.
 * Uses the run's own evaluation transforms and normalisation.
 */
public final class Classifier {
    /** One class and its probability. */
    public record Guess(String label, int index, double probability) {}

    /** The guesses for one file, or the reason it could not be read. */
    public record Result(Path file, List<Guess> top, String error) {}

    public final ModelBundle bundle;
    private final Net net;
    private final Precision precision;

    private Classifier(ModelBundle bundle, Net net, Precision precision) {
        this.bundle = bundle;
        this.net = net;
        this.precision = precision;
    }

    public static Classifier load(Path modelDir) {
        return load(modelDir, Precision.FP32);
    }

    public static Classifier load(Path modelDir, Precision precision) {
        Engine.start();
        ModelBundle b = ModelBundle.read(modelDir);
        return new Classifier(b, b.loadNet(modelDir), precision);
    }

    public List<Guess> predict(Path image, int k) {
        Result r = predictAll(List.of(image), k, 1).get(0);
        if (r.error != null) throw new BadImageException(image, r.error);
        return r.top;
    }

    /** Predicts many files in batches; an unreadable file gets an error in its result, the rest are still predicted. */
    public List<Result> predictAll(List<Path> files, int k, int batchSize) {
        List<Result> out = new ArrayList<>();
        int s = bundle.imageSize(), per = 3 * s * s;
        for (int from = 0; from < files.size(); from += batchSize) {
            List<Path> chunk = files.subList(from, Math.min(files.size(), from + batchSize));
            float[] images = new float[chunk.size() * per];
            List<Integer> ok = new ArrayList<>();
            String[] errors = new String[chunk.size()];
            for (int i = 0; i < chunk.size(); i++) {
                try (PointerScope scope = new PointerScope()) {
                    bundle.evalTransforms()
                            .run(
                                    Images.decode(chunk.get(i)),
                                    new Random(0),
                                    bundle.mean(),
                                    bundle.std(),
                                    images,
                                    ok.size() * per);
                    ok.add(i);
                } catch (BadImageException e) {
                    errors[i] = e.reason;
                }
            }
            float[][] probs = probabilities(java.util.Arrays.copyOf(images, ok.size() * per), ok.size());
            int j = 0;
            for (int i = 0; i < chunk.size(); i++) {
                if (errors[i] != null) {
                    out.add(new Result(chunk.get(i), List.of(), errors[i]));
                } else {
                    out.add(new Result(chunk.get(i), top(probs[j++], k), null));
                }
            }
        }
        return out;
    }

    float[][] probabilities(float[] images, int n) {
        return new Raw(net, bundle.imageSize(), precision).probabilities(images, n);
    }

    /** Softmax posteriors of a network for normalised channel-first images. */
    public record Raw(Net net, int s, Precision precision) {
        public float[][] probabilities(float[] images, int n) {
            if (n == 0) return new float[0][];
            return Scoped.call(() -> {
                try (NoGradGuard g = new NoGradGuard()) {
                    Tensor x = Tensors.fromFloats(images, n, 3, s, s);
                    Tensor logits = precision.forward(() -> net.forward(x)).to(torch.ScalarType.Float);
                    float[] p = Tensors.toFloats(torch.softmax(logits, 1));
                    int c = p.length / n;
                    float[][] rows = new float[n][];
                    for (int i = 0; i < n; i++) rows[i] = java.util.Arrays.copyOfRange(p, i * c, (i + 1) * c);
                    return rows;
                }
            });
        }
    }

    private List<Guess> top(float[] p, int k) {
        List<Guess> all = new ArrayList<>();
        for (int c = 0; c < p.length; c++) all.add(new Guess(bundle.classes().get(c), c, p[c]));
        all.sort(Comparator.comparingDouble(Guess::probability).reversed());
        return all.subList(0, Math.min(k, all.size()));
    }
}
