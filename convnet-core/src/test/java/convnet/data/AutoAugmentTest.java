package convnet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TestData;
import convnet.UserException;
import convnet.config.ConfigNode;
import convnet.config.YamlMaps;
import convnet.data.transform.AutoAugment;
import convnet.data.transform.AutoAugment.Op;
import convnet.data.transform.Pipeline;
import convnet.data.transform.RandomErasing;
import convnet.data.transform.Transforms;
import convnet.engine.Engine;
import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** RandAugment, TrivialAugmentWide and random erasing on a real photo: each op does what torchvision's does. */
class AutoAugmentTest {
    static Path photo() {
        File[] f = TestData.dataset("flowers5-128").resolve("daisy").toFile().listFiles();
        Arrays.sort(f);
        return f[0].toPath();
    }

    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    static int[] px(Mat m) {
        return TransformsTest.pixels(m);
    }

    @Test
    void pointOpsHaveTheirEffect() {
        try (PointerScope s = new PointerScope()) {
            Mat img = Images.decode(photo());
            int[] a = px(img);
            int[] sol = px(AutoAugment.apply(img, Op.SOLARIZE, 0));
            for (int i = 0; i < a.length; i++) assertEquals(255 - a[i], sol[i], "solarize at 0 inverts every pixel");
            int[] sol128 = px(AutoAugment.apply(img, Op.SOLARIZE, 128));
            for (int i = 0; i < a.length; i++) assertEquals(a[i] >= 128 ? 255 - a[i] : a[i], sol128[i]);
            for (int v : px(AutoAugment.apply(img, Op.POSTERIZE, 1))) assertTrue(v == 0 || v == 128, "1 bit: " + v);
            for (int v : px(AutoAugment.apply(img, Op.BRIGHTNESS, -1)))
                assertEquals(0, v, "brightness factor 0 is black");
            int[] gray = px(AutoAugment.apply(img, Op.COLOR, -1));
            for (int i = 0; i < gray.length; i += 3) {
                assertEquals(gray[i], gray[i + 1]);
                assertEquals(gray[i], gray[i + 2]);
            }
            Set<Integer> flat = new HashSet<>();
            for (int v : px(AutoAugment.apply(img, Op.CONTRAST, -1))) flat.add(v);
            assertEquals(1, flat.size(), "contrast factor 0 leaves the mean grey");
            assertArrayEquals(a, px(AutoAugment.apply(img, Op.IDENTITY, 0)));
        }
    }

    @Test
    void autoContrastStretchesEachChannel() {
        try (PointerScope s = new PointerScope()) {
            Mat dull = new Mat();
            Images.decode(photo()).convertTo(dull, -1, 0.4, 60);
            int[] out = px(AutoAugment.apply(dull, Op.AUTO_CONTRAST, 0));
            for (int c = 0; c < 3; c++) {
                int min = 255, max = 0;
                for (int i = c; i < out.length; i += 3) {
                    min = Math.min(min, out[i]);
                    max = Math.max(max, out[i]);
                }
                assertEquals(0, min, "channel " + c);
                assertEquals(255, max, "channel " + c);
            }
        }
    }

    @Test
    void geometricOpsMovePixels() {
        try (PointerScope s = new PointerScope()) {
            Mat img = Images.decode(photo());
            int w = img.cols(), h = img.rows();
            int[] a = px(img), t = px(AutoAugment.apply(img, Op.TRANSLATE_X, 7));
            for (int y = 0; y < h; y += 5) {
                for (int x = 0; x < w; x += 3) {
                    int c = (y * w + x) * 3;
                    if (x < 7) assertEquals(0, t[c], "the uncovered strip is filled black");
                    else assertEquals(a[(y * w + x - 7) * 3], t[c]);
                }
            }
            int[] r = px(AutoAugment.apply(img, Op.ROTATE, 30));
            assertEquals(0, r[0], "a rotated corner is filled black");
            assertFalse(Arrays.equals(a, r));
            int[] sh = px(AutoAugment.apply(img, Op.SHEAR_X, 0.3));
            assertArrayEquals(
                    Arrays.copyOfRange(a, 0, w * 3), Arrays.copyOfRange(sh, 0, w * 3), "row 0 is the shear's axis");
            assertFalse(Arrays.equals(a, sh));
            Mat sharp = AutoAugment.apply(img, Op.SHARPNESS, 0.9);
            assertEquals(w, sharp.cols());
            assertFalse(Arrays.equals(a, px(sharp)));
        }
    }

    @Test
    void magnitudesFollowTorchvisionsTables() {
        assertEquals(0.3 * 9 / 30, Op.SHEAR_X.magnitude(9, false, 32, 32), 1e-12);
        assertEquals(30.0, Op.ROTATE.magnitude(30, false, 32, 32), 1e-12);
        assertEquals(135.0, Op.ROTATE.magnitude(30, true, 32, 32), 1e-12);
        assertEquals(150.0 / 331 * 64, Op.TRANSLATE_X.magnitude(30, false, 64, 32), 1e-9);
        assertEquals(8, Op.POSTERIZE.magnitude(0, false, 32, 32));
        assertEquals(4, Op.POSTERIZE.magnitude(30, false, 32, 32));
        assertEquals(7, Op.POSTERIZE.magnitude(9, false, 32, 32)); // round(9 / 7.5) = 1
        assertEquals(2, Op.POSTERIZE.magnitude(30, true, 32, 32));
        assertEquals(255.0, Op.SOLARIZE.magnitude(0, false, 32, 32));
    }

    @Test
    void randAugmentAndTrivialAugmentFromConfigAreReproducible() {
        Pipeline p = Pipeline.fromConfig(
                ConfigNode.parse(
                                "ops: [{op: rand_augment, n: 2, m: 9}, {op: trivial_augment_wide}, {op: random_erasing, p: 1, value: random}]",
                                "t.yaml")
                        .get("ops"),
                64);
        assertEquals(2, p.ops.size());
        assertEquals(1, p.erasing.size());
        assertEquals(
                p.toList(),
                Pipeline.fromConfig(
                                YamlMaps.node(Map.of("ops", p.toList()), "x").get("ops"), 64)
                        .toList());
        float[] m = {0.5f, 0.5f, 0.5f}, sd = {0.25f, 0.25f, 0.25f};
        int n = 3 * 64 * 64;
        float[] a = new float[n], b = new float[n], plain = new float[n];
        int differ = 0;
        try (PointerScope s = new PointerScope()) {
            Mat img = Images.decode(photo());
            new Pipeline(List.of(), 64).run(img, new Random(1), m, sd, plain, 0);
            for (int seed = 0; seed < 8; seed++) {
                p.run(img, new Random(seed), m, sd, a, 0);
                p.run(img, new Random(seed), m, sd, b, 0);
                assertArrayEquals(a, b, "same seed, same image");
                if (!Arrays.equals(a, plain)) differ++;
            }
        }
        assertEquals(8, differ, "erasing with p 1 changes every image");
    }

    @Test
    void randomErasingOverwritesOneRectangleOfTheAskedArea() {
        int size = 40, n = 3 * size * size;
        RandomErasing e = new RandomErasing(1, 0.1, 0.2, 0.5, 2, false);
        for (int seed = 0; seed < 20; seed++) {
            float[] img = new float[n];
            Arrays.fill(img, 7f);
            e.apply(img, 0, size, new Random(seed));
            int zeros = 0, minX = size, maxX = -1, minY = size, maxY = -1;
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    if (img[y * size + x] == 0f) {
                        zeros++;
                        minX = Math.min(minX, x);
                        maxX = Math.max(maxX, x);
                        minY = Math.min(minY, y);
                        maxY = Math.max(maxY, y);
                    }
                    for (int c = 1; c < 3; c++) assertEquals(img[y * size + x], img[(c * size + y) * size + x]);
                }
            }
            assertEquals((maxX - minX + 1) * (maxY - minY + 1), zeros, "one filled rectangle");
            double frac = zeros / (double) (size * size);
            assertTrue(frac > 0.08 && frac < 0.23, "area fraction " + frac);
        }
        float[] img = new float[n];
        Arrays.fill(img, 7f);
        new RandomErasing(0, 0.1, 0.2, 0.5, 2, false).apply(img, 0, size, new Random(3));
        for (float v : img) assertEquals(7f, v, "p 0 erases nothing");
    }

    @Test
    void badAugmentationConfigsNameTheLine() {
        UserException late = assertThrows(
                UserException.class,
                () -> Pipeline.fromConfig(
                        ConfigNode.parse("ops:\n  - {op: random_erasing}\n  - {op: hflip}\n", "aug.yaml")
                                .get("ops"),
                        32));
        assertTrue(late.getMessage().contains("aug.yaml") && late.getMessage().contains("line 3"), late.getMessage());
        UserException m = assertThrows(
                UserException.class,
                () -> Pipeline.fromConfig(
                        ConfigNode.parse("ops: [{op: rand_augment, m: 31}]", "aug.yaml")
                                .get("ops"),
                        32));
        assertTrue(m.getMessage().contains("m"), m.getMessage());
        UserException v = assertThrows(
                UserException.class,
                () -> Pipeline.fromConfig(
                        ConfigNode.parse("ops: [{op: random_erasing, value: pink}]", "aug.yaml")
                                .get("ops"),
                        32));
        assertTrue(v.getMessage().contains("random"), v.getMessage());
    }

    @Test
    void everyOpKeepsTheSizeAndTheType() {
        try (PointerScope s = new PointerScope()) {
            Mat img = Transforms.resizeTo(Images.decode(photo()), 48, 32);
            for (Op op : Op.values()) {
                for (int bin : new int[] {0, 15, 30}) {
                    Mat out = AutoAugment.apply(img, op, op.magnitude(bin, true, 48, 32));
                    assertEquals(48, out.cols(), op.name());
                    assertEquals(32, out.rows(), op.name());
                    assertEquals(img.type(), out.type(), op.name());
                }
            }
        }
    }
}
