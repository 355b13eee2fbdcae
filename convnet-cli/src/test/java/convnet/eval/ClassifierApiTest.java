package convnet.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TinyRun;
import convnet.data.BadImageException;
import convnet.engine.Precision;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java API: every input type, batches, eight threads at once, and use after close. */
class ClassifierApiTest {
    @TempDir
    static Path tmp;

    static TinyRun run;
    static List<Path> photos;

    @BeforeAll
    static void train() throws Exception {
        run = TinyRun.train(tmp, "api", 6);
        photos = new ArrayList<>();
        for (String c : List.of("daisy", "rose")) {
            File[] f = run.data().resolve(c).toFile().listFiles();
            Arrays.sort(f);
            for (File x : f) photos.add(x.toPath());
        }
        // a lossless copy, so that the BufferedImage path and the file path see the same pixels
        BufferedImage bi = ImageIO.read(photos.get(0).toFile());
        ImageIO.write(bi, "png", tmp.resolve("first.png").toFile());
    }

    static double[] probs(List<Classifier.Guess> g) {
        double[] p = new double[g.size()];
        for (Classifier.Guess x : g) p[x.index()] = x.probability();
        return p;
    }

    @Test
    void everyInputTypeGivesTheSameAnswer() throws Exception {
        try (Classifier c = Classifier.load(run.run(), Classifier.Options.DEFAULT.withThreads(2))) {
            assertEquals(List.of("daisy", "rose"), c.classes());
            assertEquals(32, c.inputSize());
            Path jpeg = photos.get(0);
            double[] file = probs(c.predict(jpeg, 2));
            byte[] bytes = Files.readAllBytes(jpeg);
            assertEquals(Arrays.toString(file), Arrays.toString(probs(c.predict(bytes, 2))), "byte[]");
            assertEquals(
                    Arrays.toString(file),
                    Arrays.toString(probs(c.predict(new ByteArrayInputStream(bytes), 2))),
                    "InputStream");
            Path png = tmp.resolve("first.png");
            assertEquals(
                    Arrays.toString(probs(c.predict(png, 2))),
                    Arrays.toString(probs(c.predict(ImageIO.read(png.toFile()), 2))),
                    "BufferedImage against its own PNG file");
            List<Classifier.Guess> top1 = c.predict(jpeg, 1);
            assertEquals(1, top1.size());
            assertTrue(top1.get(0).probability() >= 0.5, "the top guess of two classes");
        }
    }

    @Test
    void aBatchAgreesWithSingleImages() {
        try (Classifier c = Classifier.load(run.run().resolve("model"))) {
            List<List<Classifier.Guess>> batch = c.predict(photos, 2);
            assertEquals(photos.size(), batch.size());
            for (int i = 0; i < photos.size(); i++) {
                double[] one = probs(c.predict(photos.get(i), 2)), inBatch = probs(batch.get(i));
                for (int k = 0; k < 2; k++)
                    assertEquals(one[k], inBatch[k], 1e-5, photos.get(i).toString());
            }
            BadImageException bad = assertThrows(
                    BadImageException.class, () -> c.predict(List.of(photos.get(0), new byte[] {1, 2, 3}), 1));
            assertTrue(bad.getMessage().contains("image 1"), bad.getMessage());
            assertThrows(IllegalArgumentException.class, () -> c.predict(List.of("not an image"), 1));
        }
    }

    @Test
    void aPreprocessedImageGoesToTheNetworkAsItIs() {
        try (Classifier c = Classifier.load(run.run(), Classifier.Options.DEFAULT.withThreads(2))) {
            Classifier.Preprocessed x = c.preprocess(photos.get(1));
            assertEquals(3 * 32 * 32, x.chw().length);
            assertEquals(
                    Arrays.toString(probs(c.predict(photos.get(1), 2))),
                    Arrays.toString(probs(c.predict(List.of(x), 2).get(0))));
            // in one batch with encoded images, each keeps its own answer
            List<List<Classifier.Guess>> mixed = c.predict(List.of(photos.get(0), x, c.preprocess(photos.get(2))), 2);
            for (int i = 0; i < 3; i++)
                for (int k = 0; k < 2; k++)
                    assertEquals(probs(c.predict(photos.get(i), 2))[k], probs(mixed.get(i))[k], 1e-5, "image " + i);
            IllegalArgumentException wrong = assertThrows(
                    IllegalArgumentException.class,
                    () -> c.predict(List.of(new Classifier.Preprocessed(new float[10])), 1));
            assertTrue(wrong.getMessage().contains("expected 3×32×32 = 3072"), wrong.getMessage());
        }
    }

    @Test
    void eightThreadsAtOnceGetTheAnswersOfOne() throws Exception {
        try (Classifier c = Classifier.load(run.run(), Classifier.Options.DEFAULT.withPrecision(Precision.FP32))) {
            List<String> expected = new ArrayList<>();
            for (Path p : photos) expected.add(Arrays.toString(probs(c.predict(p, 2))));
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<List<String>>> futures = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int start = t;
                    futures.add(pool.submit(() -> {
                        List<String> got = new ArrayList<>();
                        for (int round = 0; round < 3; round++) {
                            for (int i = 0; i < photos.size(); i++) {
                                int j = (i + start) % photos.size(); // threads visit the images in different orders
                                byte[] b = Files.readAllBytes(photos.get(j));
                                String r = Arrays.toString(
                                        probs((round % 2 == 0) ? c.predict(photos.get(j), 2) : c.predict(b, 2)));
                                got.add(j + " " + r);
                            }
                        }
                        return got;
                    }));
                }
                for (Future<List<String>> f : futures) {
                    for (String line : f.get()) {
                        int j = Integer.parseInt(line.substring(0, line.indexOf(' ')));
                        assertEquals(expected.get(j), line.substring(line.indexOf(' ') + 1), "image " + j);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void useAfterCloseFailsClearly() {
        Classifier c = Classifier.load(run.run());
        c.predict(photos.get(0), 1);
        c.close();
        c.close(); // twice is fine
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.predict(photos.get(0), 1));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> c.predictAll(photos, 1, 4));
    }
}
