package convnet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.NeedsSharedData;
import convnet.TestData;
import convnet.config.ConfigNode;
import convnet.config.YamlMaps;
import convnet.data.transform.Pipeline;
import convnet.data.transform.Transforms;
import convnet.engine.Engine;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The augmentation ops on real photos: each has the geometric or colour effect it claims; loading is reproducible. */
@NeedsSharedData
class TransformsTest {
    static final Path PHOTO = TestData.datasets().resolve("caltech101-10/ferry/image_0001.jpg");

    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    static int[] pixels(Mat m) {
        Mat c = m.isContinuous() ? m : m.clone();
        byte[] b = new byte[c.rows() * c.cols() * 3];
        c.data().get(b);
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) out[i] = b[i] & 0xff;
        return out;
    }

    @Test
    void hflipReallyFlips() {
        try (PointerScope s = new PointerScope()) {
            Mat img = Images.decode(PHOTO);
            int w = img.cols(), h = img.rows();
            int[] a = pixels(img), f = pixels(new Transforms.HorizontalFlip().apply(img, new Random(0)));
            for (int y = 0; y < h; y += 7) {
                for (int x = 0; x < w; x += 5) {
                    for (int c = 0; c < 3; c++) assertEquals(a[(y * w + x) * 3 + c], f[(y * w + (w - 1 - x)) * 3 + c]);
                }
            }
        }
    }

    @Test
    void shiftScaleRotateKeepsTheSizeAndChangesTheImage() {
        try (PointerScope s = new PointerScope()) {
            Mat img = Images.decode(PHOTO);
            Mat out = new Transforms.ShiftScaleRotate(0.1, 0.2, 30).apply(img, new Random(5));
            assertEquals(img.cols(), out.cols());
            assertEquals(img.rows(), out.rows());
            assertFalse(Arrays.equals(pixels(img), pixels(out)));
        }
    }

    @Test
    void equalizeFlattensTheHistogram() {
        try (PointerScope s = new PointerScope()) {
            Mat img = new Transforms.BrightnessContrast(0, 0).apply(Images.decode(PHOTO), new Random(0));
            // squeeze the contrast first so equalisation has something to undo
            Mat dull = new Mat();
            img.convertTo(dull, img.type(), 0.3, 90);
            double before = histogramSpread(pixels(dull)),
                    after = histogramSpread(pixels(new Transforms.Equalize().apply(dull, new Random(0))));
            assertTrue(after > 2 * before, "value spread " + before + " → " + after);
            assertTrue(
                    maxCdfGap(pixels(new Transforms.Equalize().apply(dull, new Random(0)))) < maxCdfGap(pixels(dull)));
        }
    }

    static double histogramSpread(int[] v) {
        double mean = 0;
        for (int x : v) mean += x;
        mean /= v.length;
        double var = 0;
        for (int x : v) var += (x - mean) * (x - mean);
        return Math.sqrt(var / v.length);
    }

    /** Largest distance between the value CDF and a uniform one: small for a flat histogram. */
    static double maxCdfGap(int[] v) {
        long[] h = new long[256];
        for (int x : v) h[x]++;
        double cum = 0, gap = 0;
        for (int i = 0; i < 256; i++) {
            cum += h[i];
            gap = Math.max(gap, Math.abs(cum / v.length - (i + 1) / 256.0));
        }
        return gap;
    }

    @Test
    void cropsAndResizesGiveTheirSizes() {
        try (PointerScope s = new PointerScope()) {
            Mat img = Images.decode(PHOTO);
            Random r = new Random(1);
            Mat c = new Transforms.RandomCrop(32, 4).apply(new Transforms.Resize(0, 32, 32).apply(img, r), r);
            assertEquals(32, c.cols());
            assertEquals(32, c.rows());
            Mat rr = new Transforms.RandomResizedCrop(50, 0.08, 1, 0.75, 1.33).apply(img, r);
            assertEquals(50, rr.cols());
            assertEquals(50, rr.rows());
            Mat j = new Transforms.ScaleJitter(256, 512).apply(img, r);
            int shorter = Math.min(j.cols(), j.rows());
            assertTrue(shorter >= 256 && shorter <= 512);
            Mat cc = new Transforms.CenterCrop(100).apply(img, r);
            assertEquals(100, cc.cols());
        }
    }

    @Test
    void pipelineReadsFromConfigAndRoundTrips() {
        ConfigNode n = ConfigNode.parse("""
                ops:
                  - {op: resize, size: 40}
                  - {op: random_crop, size: 32, padding: 4}
                  - {op: hflip}
                  - {op: one_of, p: 0.5, ops: [{op: equalize}, {op: brightness_contrast, brightness: 0.1, contrast: 0.1}]}
                  - {op: shift_scale_rotate, rotate: 10}
                """, "t.yaml");
        Pipeline p = Pipeline.fromConfig(n.get("ops"), 32);
        assertEquals(5, p.ops.size());
        Pipeline again = Pipeline.fromConfig(
                YamlMaps.node(Map.of("ops", p.toList()), "x").get("ops"), 32);
        assertEquals(p.toList(), again.toList());
    }

    @Test
    void sameSeedSameBatchesWhateverTheThreadCount() {
        ImageFolder f = ImageFolder.scan(TestData.dataset("flowers5-128"), null);
        List<Sample> some = f.samples.subList(0, 40);
        Pipeline p = new Pipeline(
                List.of(
                        new Transforms.RandomResizedCrop(24, 0.3, 1, 0.75, 1.33),
                        new Transforms.WithProbability(new Transforms.HorizontalFlip(), 0.5),
                        new Transforms.ShiftScaleRotate(0.05, 0.1, 15)),
                24);
        float[] m = {0.5f, 0.5f, 0.5f}, s = {0.25f, 0.25f, 0.25f};
        float[] a, b, c;
        long[] la, lc;
        try (Loader one = new Loader(some, p, m, s, new Loader.Options(8, true, false, 9, 1, Loader.OnBadImage.ERROR));
                Loader two =
                        new Loader(some, p, m, s, new Loader.Options(8, true, false, 9, 2, Loader.OnBadImage.ERROR))) {
            Iterator<Loader.Batch> x = one.epoch(3, 0), y = two.epoch(3, 0), z = two.epoch(4, 0);
            Loader.Batch bx = x.next(), bz = z.next();
            a = bx.images();
            la = bx.labels();
            b = y.next().images();
            c = bz.images();
            lc = bz.labels();
        }
        assertArrayEquals(a, b, "same seed and epoch, 1 vs 2 threads");
        assertFalse(Arrays.equals(a, c) && Arrays.equals(la, lc), "another epoch gives another order or augmentation");
    }
}
