package convnet.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TinyRun;
import convnet.bundle.ModelBundle;
import convnet.data.BadImageException;
import convnet.data.Images;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two steps every prediction takes (decode, then a batched forward pass that runs the transforms): the floats
 * the network sees are the pipeline's bit for bit, every way of giving an image gives the same answer, and one bad
 * image fails only itself.
 */
class InferencePathTest {
    @TempDir
    static Path tmp;

    static TinyRun run;
    static Classifier classifier;
    static List<Path> photos = new ArrayList<>();
    static Path wide, grey;

    @BeforeAll
    static void train() throws Exception {
        run = TinyRun.train(tmp, "paths", 3);
        for (String c : List.of("daisy", "rose")) {
            File[] f = run.data().resolve(c).toFile().listFiles();
            Arrays.sort(f);
            for (File x : f) photos.add(x.toPath());
        }
        // lossless files of shapes the photos lack: wider than high (a centre crop that is not contiguous), and grey
        BufferedImage photo = ImageIO.read(photos.get(0).toFile());
        wide = tmp.resolve("wide.png");
        ImageIO.write(photo.getSubimage(0, 20, photo.getWidth(), photo.getHeight() - 50), "png", wide.toFile());
        BufferedImage g = new BufferedImage(photo.getWidth() - 30, photo.getHeight(), BufferedImage.TYPE_BYTE_GRAY);
        g.getGraphics().drawImage(photo, 0, 0, null);
        grey = tmp.resolve("grey.png");
        ImageIO.write(g, "png", grey.toFile());
        classifier = Classifier.load(run.run(), Classifier.Options.DEFAULT.withThreads(2));
    }

    @AfterAll
    static void close() {
        if (classifier != null) classifier.close();
    }

    static String probs(List<Classifier.Guess> g) {
        double[] p = new double[g.size()];
        for (Classifier.Guess x : g) p[x.index()] = x.probability();
        return Arrays.toString(p);
    }

    static void near(List<Classifier.Guess> want, List<Classifier.Guess> got) {
        assertEquals(want.size(), got.size());
        for (int i = 0; i < want.size(); i++) {
            assertEquals(want.get(i).index(), got.get(i).index());
            assertEquals(want.get(i).probability(), got.get(i).probability(), 1e-5);
        }
    }

    @Test
    void theNetworkSeesThePipelinesFloatsBitForBit() {
        ModelBundle b = classifier.bundle;
        List<Path> images = new ArrayList<>(photos);
        images.add(wide);
        images.add(grey);
        for (Path p : images) {
            float[] want = new float[3 * classifier.inputSize() * classifier.inputSize()];
            try (PointerScope scope = new PointerScope()) {
                b.evalTransforms().run(Images.decode(p), new Random(0), b.mean(), b.std(), want, 0);
            }
            assertArrayEquals(want, classifier.preprocess(p).chw(), p.toString());
        }
    }

    @Test
    void bytesPathStreamBufferedImageAndDecodedGiveTheSamePrediction() throws Exception {
        for (Path png : List.of(wide, grey)) {
            byte[] bytes = Files.readAllBytes(png);
            String file = probs(classifier.predict(png, 2));
            assertEquals(file, probs(classifier.predict(bytes, 2)), "byte[]");
            assertEquals(file, probs(classifier.predict(new ByteArrayInputStream(bytes), 2)), "InputStream");
            assertEquals(file, probs(classifier.predict(ImageIO.read(png.toFile()), 2)), "BufferedImage");
            try (DecodedImage d = DecodedImage.decode(bytes, "x")) {
                assertEquals(
                        file, probs(classifier.classify(List.of(d), 2).get(0).top()), "decoded");
                assertEquals(file, probs(classifier.predict(List.of(d), 2).get(0)), "decoded, through predict");
                assertEquals(file, probs(classifier.predict(List.of(d), 2).get(0)), "the same decoded image again");
            }
            assertEquals(
                    file,
                    probs(classifier
                            .predict(List.of(classifier.preprocess(bytes)), 2)
                            .get(0)),
                    "preprocessed");
        }
    }

    @Test
    void oneBadImageInAListFailsOnlyItself() throws Exception {
        Path missing = tmp.resolve("missing.jpg");
        List<Object> images = List.of(photos.get(0), new byte[] {1, 2, 3}, Files.readAllBytes(photos.get(1)), missing);
        List<Classifier.Prediction> out = classifier.predictEach(images, 2);
        assertEquals(4, out.size());
        assertNull(out.get(0).error());
        assertNull(out.get(2).error());
        // a batch of two against one image at a time: as close as ClassifierApiTest asks of batches
        near(classifier.predict(photos.get(0), 2), out.get(0).top());
        near(classifier.predict(photos.get(1), 2), out.get(2).top());
        assertEquals("image 1 (bytes)", out.get(1).name());
        assertTrue(
                out.get(1).error().contains("not a readable image"), out.get(1).error());
        assertTrue(out.get(1).top().isEmpty());
        assertEquals(missing.toString(), out.get(3).name());
        assertTrue(
                out.get(3).error() != null && out.get(3).top().isEmpty(),
                out.get(3).toString());

        // the same list through predict(List) still fails as a whole, naming the first bad image
        var bad = assertThrows(BadImageException.class, () -> classifier.predict(images, 2));
        assertTrue(bad.getMessage().contains("image 1"), bad.getMessage());

        // in the second step, an image that cannot be used (here: closed) fails only itself
        DecodedImage a = DecodedImage.read(photos.get(0)), closed = DecodedImage.read(photos.get(1));
        closed.close();
        try (a) {
            List<Classifier.Prediction> two = classifier.classify(List.of(closed, a), 2);
            assertTrue(
                    two.get(0).error() != null && two.get(0).error().contains("closed"),
                    two.get(0).toString());
            assertEquals(
                    probs(classifier.predict(photos.get(0), 2)),
                    probs(two.get(1).top()));
        }
    }
}
