package convnet.eval;

import convnet.bundle.ModelBundle;
import convnet.data.BadImageException;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.Net;
import java.awt.image.BufferedImage;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;
import java.util.function.Supplier;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A trained model ready to classify images from Java code, with the run's own evaluation transforms and
 * normalisation:
 *
 * <pre>{@code
 * try (Classifier c = Classifier.load(Path.of("runs/quickstart/model"))) {
 *     List<Classifier.Guess> top3 = c.predict(Path.of("rose.jpg"), 3);
 * }
 * }</pre>
 *
 * <p>Images may be given as a {@link Path}, a {@link BufferedImage}, the encoded bytes of a JPEG/PNG/...
 * file ({@code byte[]}), an {@link InputStream} of them, already {@link DecodedImage decoded} or already
 * {@link Preprocessed}; {@link #predict(List, int)} classifies a list in one forward pass.
 *
 * <p>Every prediction is two steps, as DJL's {@code Translator} splits them around a batched predictor:
 * {@link #decode} (in the caller's thread) and {@link #classify}, one forward pass over a batch of decoded images,
 * which runs the evaluation transforms as it writes each image into the network's input. {@code predict},
 * {@code predictEach}, the command line's {@code predict} and the HTTP server all go through these two.
 *
 * <p><b>Thread safety.</b> One {@code Classifier} may be shared by any number of threads. Decoding and
 * preprocessing run in the calling thread, concurrently; the forward passes are serialised (each one
 * already uses all of the engine's compute threads), so concurrent callers get exactly the answers one
 * caller would. {@link #close()} waits for running calls to finish and frees the network's native memory;
 * any call after it throws {@link IllegalStateException}.
 */
public final class Classifier implements AutoCloseable {
    /** One class and its probability. */
    public record Guess(String label, int index, double probability) {}

    /**
     * An image already through the evaluation transforms: {@code 3 × s × s} normalised floats, channel first and
     * row-major, {@code s} being {@link #inputSize()}; it goes to the network as it is.
     */
    public record Preprocessed(float[] chw) implements Input {}

    /** What {@link #classify} takes: a {@link DecodedImage} or a {@link Preprocessed} one. */
    public sealed interface Input permits DecodedImage, Preprocessed {}

    /** The guesses for one file, or the reason it could not be read. */
    public record Result(Path file, List<Guess> top, String error) {
        public Prediction prediction() {
            return new Prediction(file.toString(), top, error);
        }
    }

    /**
     * The guesses for one image (empty when it failed), or the reason it failed (null when it did not); {@code name}
     * is its file, or what the caller or {@link #predict(List, int)} called it ("image 2 (bytes)").
     */
    public record Prediction(String name, List<Guess> top, String error) {}

    /**
     * How to load: {@code threads} compute threads for the engine (0: one per core; the engine is shared by the
     * process, so the last setting wins) and the inference {@code precision}.
     */
    public record Options(int threads, Precision precision) {
        public static final Options DEFAULT = new Options(0, Precision.FP32);

        public Options withThreads(int t) {
            return new Options(t, precision);
        }

        public Options withPrecision(Precision p) {
            return new Options(threads, p);
        }
    }

    public final ModelBundle bundle;
    private final Path dir;
    private final Net net;
    private final Precision precision;
    private final ReentrantReadWriteLock life = new ReentrantReadWriteLock();
    private final Object forward = new Object();
    private final InputWriter writer;
    private boolean closed;

    private Classifier(Path dir, ModelBundle bundle, Net net, Precision precision) {
        this.dir = dir;
        this.bundle = bundle;
        this.net = net;
        this.precision = precision;
        this.writer = new InputWriter(bundle);
    }

    /** Loads a model bundle ({@code RUN/model}, or the run directory itself) in float32 with one thread per core. */
    public static Classifier load(Path modelDir) {
        return load(modelDir, Options.DEFAULT);
    }

    public static Classifier load(Path modelDir, Precision precision) {
        return load(modelDir, Options.DEFAULT.withPrecision(precision));
    }

    public static Classifier load(Path modelDir, Options o) {
        Engine.start(o.threads());
        Path dir = ModelBundle.exists(modelDir) ? modelDir : modelDir.resolve("model");
        ModelBundle b = ModelBundle.read(dir);
        return new Classifier(dir, b, b.loadNet(dir), o.precision());
    }

    /** The class names, in label order. */
    public List<String> classes() {
        return bundle.classes();
    }

    /** The side of the square images the network sees after the evaluation transforms. */
    public int inputSize() {
        return bundle.imageSize();
    }

    public List<Guess> predict(Path image, int k) {
        return predict(List.of(image), k).get(0);
    }

    public List<Guess> predict(BufferedImage image, int k) {
        return predict(List.of(image), k).get(0);
    }

    /** {@code encoded}: the bytes of an image file (JPEG, PNG, BMP, TIFF, WebP). */
    public List<Guess> predict(byte[] encoded, int k) {
        return predict(List.<Object>of(encoded), k).get(0);
    }

    /** Reads the encoded image to its end (the stream is not closed). */
    public List<Guess> predict(InputStream encoded, int k) {
        return predict(List.of(encoded), k).get(0);
    }

    /**
     * The top {@code k} guesses for each image, in one forward pass. The elements may be of any of the types
     * {@link Path}, {@link BufferedImage}, {@code byte[]}, {@link InputStream}, {@link DecodedImage} and
     * {@link Preprocessed} (whose length must be {@code 3 × inputSize()²}, or {@link IllegalArgumentException}); an
     * image that cannot be read fails the call with a {@link BadImageException} naming it ({@link #predictEach(List,
     * int)} reports such images one by one instead).
     */
    public List<List<Guess>> predict(List<?> images, int k) {
        return during(() -> {
            List<Prediction> all = batch(
                    images.size(), i -> decode(images.get(i), i), i -> !(images.get(i) instanceof Input), true, k);
            List<List<Guess>> out = new ArrayList<>(all.size());
            for (Prediction p : all) {
                if (p.error() != null) throw new BadImageException(Path.of(p.name()), p.error());
                out.add(p.top());
            }
            return out;
        });
    }

    /**
     * Each image's top {@code k} guesses, in one forward pass, or the reason it could not be read: one bad image
     * fails only itself. The elements may be of the types {@link #predict(List, int)} takes.
     */
    public List<Prediction> predictEach(List<?> images, int k) {
        return during(() ->
                batch(images.size(), i -> decode(images.get(i), i), i -> !(images.get(i) instanceof Input), false, k));
    }

    /**
     * The first step: an image ({@link Path}, {@link BufferedImage}, {@code byte[]} or {@link InputStream}) decoded
     * to pixels in the calling thread, for {@link #classify}; close it when done. A {@link DecodedImage} or a
     * {@link Preprocessed} (checked for its length) is returned as it is. An unreadable image is a
     * {@link BadImageException}.
     */
    public Input decode(Object image) {
        return during(() -> decode(image, 0));
    }

    /**
     * The second step: one forward pass over decoded (or preprocessed) images, each through the model's
     * evaluation transforms on its way into the batch; each gets its top {@code k} guesses, or the reason its
     * transforms failed (which fails only it). The inputs are not closed. The transforms run here, not in
     * {@link #decode}, so that their output goes straight into the batch, with no copy between.
     */
    public List<Prediction> classify(List<? extends Input> inputs, int k) {
        return during(() -> batch(inputs.size(), inputs::get, i -> false, false, k));
    }

    /**
     * An image (of any type {@link #predict(List, int)} takes) through this model's evaluation transforms and
     * normalisation: what the network sees, and what a caller may keep or send elsewhere as a tensor.
     */
    public Preprocessed preprocess(Object image) {
        return during(() -> {
            Input in = decode(image, 0);
            try {
                if (in instanceof Preprocessed p) return p;
                float[] x = new float[writer.per()];
                try (FloatIndexer out = FloatIndexer.create(x)) {
                    writer.write(in, 0, out, 0);
                }
                return new Preprocessed(x);
            } finally {
                if (in != image && in instanceof DecodedImage d) d.close();
            }
        });
    }

    /** Predicts many files in batches; an unreadable file gets an error in its result, the rest are still predicted. */
    public List<Result> predictAll(List<Path> files, int k, int batchSize) {
        List<Result> out = new ArrayList<>();
        predictEach(files, k, batchSize, out::addAll);
        return out;
    }

    /**
     * Predicts many files in batches of {@code batchSize}, handing each batch's results (in the order of
     * {@code files}) to {@code sink} as soon as the batch is done, so that only one batch is held at a time however
     * many files there are. An unreadable file gets an error in its result; the rest are still predicted.
     */
    public void predictEach(List<Path> files, int k, int batchSize, Consumer<List<Result>> sink) {
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
        during(() -> {
            for (int from = 0; from < files.size(); from += batchSize) {
                List<Path> chunk = files.subList(from, Math.min(files.size(), from + batchSize));
                List<Prediction> predictions =
                        batch(chunk.size(), i -> DecodedImage.read(chunk.get(i)), i -> true, false, k);
                List<Result> out = new ArrayList<>(chunk.size());
                for (int i = 0; i < chunk.size(); i++) {
                    Prediction p = predictions.get(i);
                    out.add(new Result(chunk.get(i), p.top(), p.error()));
                }
                sink.accept(out);
            }
            return null;
        });
    }

    /** Frees the network's native memory once running calls have finished; later calls fail. Idempotent. */
    @Override
    public void close() {
        life.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                net.close();
            }
        } finally {
            life.writeLock().unlock();
        }
    }

    private <T> T during(Supplier<T> call) {
        life.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("this Classifier (" + dir + ") is closed");
            return call.get();
        } finally {
            life.readLock().unlock();
        }
    }

    /**
     * The batch of {@code n} inputs, each written into the network's input as it comes ({@code source} may decode
     * it then: a decoded image this makes is closed as soon as it is written, so that one at a time is held), then
     * the forward pass. A {@link BadImageException} from {@code source} is that image's error, or, with
     * {@code failFast}, the call's.
     */
    private List<Prediction> batch(
            int n, IntFunction<? extends Input> source, IntPredicate owned, boolean failFast, int k) {
        String[] names = new String[n], errors = new String[n];
        float[][] probs = Scoped.call(() -> {
            if (n == 0) return new float[0][];
            int per = writer.per();
            Tensor x = torch.empty(n, 3, inputSize(), inputSize());
            FloatPointer data = x.data_ptr_float();
            data.capacity((long) n * per);
            int ok = 0;
            try (FloatIndexer out = FloatIndexer.create(data)) {
                for (int i = 0; i < n; i++) {
                    Input in;
                    try {
                        in = source.apply(i);
                    } catch (BadImageException e) {
                        if (failFast) throw e;
                        names[i] = e.file.toString();
                        errors[i] = e.reason;
                        continue;
                    }
                    names[i] = in instanceof DecodedImage d ? d.name() : "image " + i + " (preprocessed)";
                    boolean ours = in instanceof DecodedImage && owned.test(i);
                    try {
                        writer.write(in, i, out, (long) ok * per);
                        ok++;
                    } catch (IllegalArgumentException e) {
                        throw e;
                    } catch (RuntimeException e) {
                        errors[i] = "the evaluation transforms failed: " + e.getMessage();
                    } finally {
                        if (ours) ((DecodedImage) in).close();
                    }
                }
            }
            if (ok == 0) return new float[0][];
            Tensor batch = ok == n ? x : x.narrow(0, 0, ok);
            synchronized (forward) {
                return new Posteriors(net, inputSize(), precision).probabilities(batch);
            }
        });
        List<Prediction> out = new ArrayList<>(n);
        for (int i = 0, j = 0; i < n; i++) {
            if (errors[i] != null) out.add(new Prediction(names[i], List.of(), errors[i]));
            else out.add(new Prediction(names[i], top(probs[j++], k), null));
        }
        return out;
    }

    /**
     * An image as an {@link Input}, named after {@code position} in error messages as {@link #predict(List, int)}
     * has always named them ("image 2 (bytes)"; a file by its path).
     */
    private Input decode(Object image, int position) {
        if (image instanceof Preprocessed p) {
            writer.check(p, position);
            return p;
        }
        if (image instanceof DecodedImage d) return d;
        if (image instanceof Path p) return DecodedImage.read(p);
        if (image instanceof byte[] b) return DecodedImage.decode(b, "image " + position + " (bytes)");
        if (image instanceof InputStream in) return DecodedImage.read(in, "image " + position + " (stream)");
        if (image instanceof BufferedImage bi) return DecodedImage.of(bi, "image " + position + " (BufferedImage)");
        throw new IllegalArgumentException("image " + position
                + ": expected a Path, BufferedImage, byte[], InputStream, DecodedImage or Preprocessed, got "
                + (image == null ? "null" : image.getClass().getName()));
    }

    /** Softmax posteriors of a network for normalised channel-first images. */
    public record Posteriors(Net net, int inputSize, Precision precision) {
        /** {@code n} images of {@code 3 × inputSize²} floats each, one after another. */
        public float[][] probabilities(float[] images, int n) {
            if (n == 0) return new float[0][];
            return Scoped.call(() -> probabilities(Tensors.fromFloats(images, n, 3, inputSize, inputSize)));
        }

        /** A float tensor {@code [n, 3, inputSize, inputSize]}; call it within a {@code PointerScope}. */
        public float[][] probabilities(Tensor images) {
            int n = (int) images.size(0);
            if (n == 0) return new float[0][];
            try (NoGradGuard g = new NoGradGuard()) {
                Tensor logits = precision.forward(() -> net.forward(images)).to(torch.ScalarType.Float);
                float[] p = Tensors.toFloats(torch.softmax(logits, 1));
                int c = p.length / n;
                float[][] rows = new float[n][];
                for (int i = 0; i < n; i++) rows[i] = Arrays.copyOfRange(p, i * c, (i + 1) * c);
                return rows;
            }
        }
    }

    private List<Guess> top(float[] p, int k) {
        List<Guess> all = new ArrayList<>();
        for (int c = 0; c < p.length; c++) all.add(new Guess(bundle.classes().get(c), c, p[c]));
        all.sort(Comparator.comparingDouble(Guess::probability).reversed());
        return all.subList(0, Math.min(k, all.size()));
    }
}
