package convnet.eval;

import convnet.bundle.ModelBundle;
import convnet.data.transform.Pipeline;
import convnet.data.transform.Transform;
import convnet.data.transform.Transforms;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.bytedeco.javacpp.indexer.UByteIndexer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Writes one input of a batch where the network reads it: a decoded image through the bundle's evaluation
 * transforms and normalisation, or a preprocessed one as it is. The floats are those of {@link Pipeline#run} and
 * {@code Images.toChw}, bit for bit, but go straight from the last transform's pixels (a crop is read in place,
 * not cloned) into the batch's memory, with no byte or float array between.
 */
final class InputWriter {
    private final Pipeline transforms;
    private final float[] mean, std;
    private final int size, per;

    InputWriter(ModelBundle bundle) {
        this.transforms = bundle.evalTransforms();
        this.mean = bundle.mean();
        this.std = bundle.std();
        this.size = bundle.imageSize();
        this.per = 3 * size * size;
        if (transforms.size != size)
            throw new IllegalStateException(
                    "the bundle's evaluation transforms end at " + transforms.size + " px, its image size is " + size);
    }

    /** Floats per image: {@code 3 × size × size}. */
    int per() {
        return per;
    }

    /**
     * Writes {@code input} at {@code offset} of {@code out}. A preprocessed input of the wrong length is an
     * {@link IllegalArgumentException} naming {@code position}.
     */
    void write(Classifier.Input input, int position, FloatIndexer out, long offset) {
        if (input instanceof Classifier.Preprocessed p) {
            check(p, position);
            out.put(offset, p.chw(), 0, per);
            return;
        }
        DecodedImage d = (DecodedImage) input;
        Random rng = new Random(0);
        try (PointerScope scope = new PointerScope()) {
            Mat img = d.pixels();
            if (!transforms.erasing.isEmpty()) {
                // erasing works on a float array: the pipeline's own path, then one copy
                float[] x = new float[per];
                transforms.run(img, rng, mean, std, x, 0);
                out.put(offset, x, 0, per);
                return;
            }
            for (Transform t : transforms.ops) img = t.apply(img, rng);
            if (img.cols() != size || img.rows() != size) img = Transforms.resizeTo(img, size, size);
            normalise(img, out, offset);
        }
    }

    void check(Classifier.Preprocessed p, int position) {
        if (p.chw().length != per)
            throw new IllegalArgumentException("image " + position + ": a preprocessed image of " + p.chw().length
                    + " values, expected 3×" + size + "×" + size + " = " + per);
    }

    /** {@code Images.toChw}'s arithmetic: RGB planes of {@code (value/255 - mean[c]) / std[c]}, from BGR pixels. */
    private void normalise(Mat bgr, FloatIndexer out, long offset) {
        float[] scale = new float[3], shift = new float[3];
        for (int c = 0; c < 3; c++) {
            scale[c] = 1f / (255f * std[c]);
            shift[c] = -mean[c] / std[c];
        }
        int h = bgr.rows(), w = bgr.cols(), plane = h * w;
        long r = offset, g = offset + plane, b = offset + 2L * plane;
        try (UByteIndexer px = bgr.createIndexer()) {
            for (int y = 0, i = 0; y < h; y++) {
                for (int x = 0; x < w; x++, i++) {
                    out.put(r + i, px.get(y, x, 2) * scale[0] + shift[0]);
                    out.put(g + i, px.get(y, x, 1) * scale[1] + shift[1]);
                    out.put(b + i, px.get(y, x, 0) * scale[2] + shift[2]);
                }
            }
        }
    }
}
