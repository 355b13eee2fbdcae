package convnet.eval;

import convnet.data.BadImageException;
import convnet.data.Images;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.Net;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
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
 * file ({@code byte[]}), an {@link InputStream} of them, or already {@link Preprocessed}; {@link #predict(List,
 * int)} classifies a list in one forward pass.
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
    public record Preprocessed(float[] chw) {}

    /** The guesses for one file, or the reason it could not be read. */
    public record Result(Path file, List<Guess> top, String error) {}

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
    private boolean closed;

    private Classifier(Path dir, ModelBundle bundle, Net net, Precision precision) {
        this.dir = dir;
        this.bundle = bundle;
        this.net = net;
        this.precision = precision;
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
     * {@link Path}, {@link BufferedImage}, {@code byte[]}, {@link InputStream} and {@link Preprocessed} (whose
     * length must be {@code 3 × inputSize()²}, or {@link IllegalArgumentException}); an image that cannot be read
     * fails the call with a {@link BadImageException} naming it ({@link #predictAll} reports such images one
     * by one instead).
     */
    public List<List<Guess>> predict(List<?> images, int k) {
        return during(() -> {
            int per = 3 * inputSize() * inputSize();
            float[] x = new float[images.size() * per];
            for (int i = 0; i < images.size(); i++) preprocess(images.get(i), i, x, i * per);
            float[][] p = probabilities(x, images.size());
            List<List<Guess>> out = new ArrayList<>();
            for (float[] row : p) out.add(top(row, k));
            return out;
        });
    }

    /**
     * An image (of any type {@link #predict(List, int)} takes) through this model's evaluation transforms and
     * normalisation: what the network sees, and what a caller may keep or send elsewhere as a tensor.
     */
    public Preprocessed preprocess(Object image) {
        return during(() -> {
            float[] x = new float[3 * inputSize() * inputSize()];
            preprocess(image, 0, x, 0);
            return new Preprocessed(x);
        });
    }

    /** Predicts many files in batches; an unreadable file gets an error in its result, the rest are still predicted. */
    public List<Result> predictAll(List<Path> files, int k, int batchSize) {
        return during(() -> {
            List<Result> out = new ArrayList<>();
            int per = 3 * inputSize() * inputSize();
            for (int from = 0; from < files.size(); from += batchSize) {
                List<Path> chunk = files.subList(from, Math.min(files.size(), from + batchSize));
                float[] images = new float[chunk.size() * per];
                int ok = 0;
                String[] errors = new String[chunk.size()];
                for (int i = 0; i < chunk.size(); i++) {
                    try {
                        preprocess(chunk.get(i), i, images, ok * per);
                        ok++;
                    } catch (BadImageException e) {
                        errors[i] = e.reason;
                    }
                }
                float[][] probs = probabilities(java.util.Arrays.copyOf(images, ok * per), ok);
                int j = 0;
                for (int i = 0; i < chunk.size(); i++) {
                    if (errors[i] != null) out.add(new Result(chunk.get(i), List.of(), errors[i]));
                    else out.add(new Result(chunk.get(i), top(probs[j++], k), null));
                }
            }
            return out;
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

    private <T> T during(java.util.function.Supplier<T> call) {
        life.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("this Classifier (" + dir + ") is closed");
            return call.get();
        } finally {
            life.readLock().unlock();
        }
    }

    private void preprocess(Object image, int position, float[] out, int offset) {
        if (image instanceof Preprocessed p) {
            int per = 3 * inputSize() * inputSize();
            if (p.chw().length != per)
                throw new IllegalArgumentException("image " + position + ": a preprocessed image of " + p.chw().length
                        + " values, expected 3×" + inputSize() + "×" + inputSize() + " = " + per);
            System.arraycopy(p.chw(), 0, out, offset, per);
            return;
        }
        try (PointerScope scope = new PointerScope()) {
            Mat bgr = decode(image, position);
            bundle.evalTransforms().run(bgr, new Random(0), bundle.mean(), bundle.std(), out, offset);
        }
    }

    private static Mat decode(Object image, int position) {
        if (image instanceof Path p) return Images.decode(p);
        if (image instanceof byte[] b) return Images.decode(Path.of("image " + position + " (bytes)"), b);
        if (image instanceof InputStream in) {
            Path name = Path.of("image " + position + " (stream)");
            try {
                byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, Images.MAX_FILE_BYTES + 1));
                if (b.length > Images.MAX_FILE_BYTES)
                    throw new BadImageException(name, "more than the limit of " + Images.MAX_FILE_BYTES + " bytes");
                return Images.decode(name, b);
            } catch (IOException e) {
                throw new BadImageException(name, "cannot read the stream: " + e.getMessage());
            }
        }
        if (image instanceof BufferedImage bi) return fromBufferedImage(bi, position);
        throw new IllegalArgumentException(
                "image " + position + ": expected a Path, BufferedImage, byte[], InputStream or Preprocessed, got "
                        + (image == null ? "null" : image.getClass().getName()));
    }

    /** Any BufferedImage as 8-bit BGR (alpha dropped, grey and palette images expanded). */
    static Mat fromBufferedImage(BufferedImage bi, int position) {
        int w = bi.getWidth(), h = bi.getHeight();
        if ((long) w * h > Images.MAX_PIXELS)
            throw new BadImageException(
                    Path.of("image " + position + " (BufferedImage)"),
                    w + "×" + h + " pixels, more than the limit of " + Images.MAX_PIXELS);
        BufferedImage bgr = bi;
        if (bi.getType() != BufferedImage.TYPE_3BYTE_BGR) {
            bgr = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
            java.awt.Graphics2D g = bgr.createGraphics();
            g.drawImage(bi, 0, 0, null);
            g.dispose();
        }
        byte[] px = ((DataBufferByte) bgr.getRaster().getDataBuffer()).getData();
        Mat m = new Mat(h, w, org.bytedeco.opencv.global.opencv_core.CV_8UC3);
        m.data().put(px);
        return m;
    }

    float[][] probabilities(float[] images, int n) {
        synchronized (forward) {
            return new Raw(net, inputSize(), precision).probabilities(images, n);
        }
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
