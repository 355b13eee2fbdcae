package convnet.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.NeedsSharedData;
import convnet.TestData;
import convnet.data.transform.Pipeline;
import convnet.data.transform.Transforms;
import convnet.engine.Engine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad image files, each built from a real image of ../shared/datasets: preprocess skips them with a reason, the loader follows its policy. */
@NeedsSharedData
class BadImagesTest {
    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    /** A class folder with good images plus one of each kind of bad file; returns file name → expected fragment of the reason. */
    static Map<String, String> makeBad(Path dir) throws Exception {
        Path real = TestData.datasets().resolve("caltech101-10/dolphin/image_0001.jpg");
        byte[] jpeg = Files.readAllBytes(real);
        Files.createDirectories(dir);
        Map<String, String> expected = new TreeMap<>();
        Files.write(dir.resolve("zero.jpg"), new byte[0]);
        expected.put("zero.jpg", "empty file");
        Files.write(dir.resolve("truncated.jpg"), Arrays.copyOf(jpeg, jpeg.length / 2));
        expected.put("truncated.jpg", "truncated JPEG");
        Files.writeString(dir.resolve("text.jpg"), "<html><body>404 Not Found</body></html>\n");
        expected.put("text.jpg", "content is not");
        try (PointerScope s = new PointerScope()) {
            Mat img = opencv_imgcodecs.imdecode(new Mat(jpeg), opencv_imgcodecs.IMREAD_COLOR);
            Mat png = new Mat();
            img.convertTo(png, opencv_core.CV_16UC3, 257, 0);
            opencv_imgcodecs.imwrite(dir.resolve("sixteen.png").toString(), png);
            byte[] huge = Files.readAllBytes(dir.resolve("sixteen.png"));
            // IHDR width and height at bytes 16..23: claim 30000 × 30000
            for (int off : new int[] {16, 20}) {
                huge[off] = 0;
                huge[off + 1] = 0;
                huge[off + 2] = (byte) (30000 >> 8);
                huge[off + 3] = (byte) (30000 & 0xff);
            }
            Files.write(dir.resolve("huge.png"), huge);
            expected.put("huge.png", "30000×30000");
        }
        return expected;
    }

    @Test
    void preprocessSkipsEachBadFileWithItsReason(@TempDir Path tmp) throws Exception {
        Path src = tmp.resolve("src");
        TestData.subset("caltech101-10", src, 6, "dolphin", "lotus");
        Map<String, String> expected = makeBad(src.resolve("dolphin"));
        Preprocess.Report r = Preprocess.run(
                src,
                tmp.resolve("out"),
                new Preprocess.Options(0.2, 32, Preprocess.Mode.STRETCH, 1, "^(.+)$", 2, 90),
                n -> {});
        Map<String, String> reasons = new TreeMap<>();
        for (String[] s : r.skipped()) reasons.put(Path.of(s[0]).getFileName().toString(), s[1]);
        assertEquals(expected.keySet(), reasons.keySet(), "the 16-bit PNG is converted, not skipped: " + reasons);
        for (Map.Entry<String, String> e : expected.entrySet()) {
            assertTrue(reasons.get(e.getKey()).contains(e.getValue()), e.getKey() + ": " + reasons.get(e.getKey()));
        }
        assertEquals(12 + 1, r.train() + r.val(), "12 good photos and the 16-bit PNG");
        String skippedCsv = Files.readString(tmp.resolve("out/skipped.csv"));
        for (String name : expected.keySet()) assertTrue(skippedCsv.contains(name), skippedCsv);
    }

    @Test
    void loaderStopsOnTheFirstBadFileOrSkipsAndCounts(@TempDir Path tmp) throws Exception {
        Map<String, String> expected = makeBad(tmp.resolve("bad"));
        List<Sample> samples = new ArrayList<>();
        samples.add(new Sample(TestData.datasets().resolve("caltech101-10/lotus/image_0001.jpg"), 0));
        for (String name : expected.keySet())
            samples.add(new Sample(tmp.resolve("bad").resolve(name), 0));
        samples.add(new Sample(tmp.resolve("bad/sixteen.png"), 0));
        Pipeline p = new Pipeline(List.of(new Transforms.Resize(0, 32, 32)), 32);
        float[] m = {0, 0, 0}, s = {1, 1, 1};
        try (Loader strict = new Loader(samples, p, m, s, Loader.Options.evaluation(3, 2, Loader.OnBadImage.ERROR))) {
            Iterator<Loader.Batch> it = strict.epoch(0, 0);
            BadImageException e = assertThrows(BadImageException.class, () -> {
                while (it.hasNext()) it.next();
            });
            assertTrue(e.getMessage().contains(tmp.resolve("bad").toString()), e.getMessage());
        }
        try (Loader lenient = new Loader(samples, p, m, s, Loader.Options.evaluation(3, 2, Loader.OnBadImage.SKIP))) {
            int images = 0, skipped = 0;
            for (Iterator<Loader.Batch> it = lenient.epoch(0, 0); it.hasNext(); ) {
                Loader.Batch b = it.next();
                images += b.size();
                skipped += b.skipped();
            }
            assertEquals(2, images, "the good photo and the 16-bit PNG");
            assertEquals(expected.size(), skipped);
        }
    }
}
