package convnet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.NeedsSharedData;
import convnet.TestData;
import convnet.engine.Engine;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** preprocess on the real caltech101-10 photos (varied sizes, 32 grayscale files). */
@NeedsSharedData
class PreprocessTest {
    static final Path CALTECH = TestData.datasets().resolve("caltech101-10");

    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    static Preprocess.Report run(Path dst, Preprocess.Mode mode, int size) {
        return Preprocess.run(
                CALTECH, dst, new Preprocess.Options(0.2, size, mode, 42, "^\\d+\\.(.+)$", 2, 95), n -> {});
    }

    static int countImages() throws Exception {
        try (Stream<Path> s = Files.walk(CALTECH)) {
            return (int) s.filter(Files::isRegularFile).count();
        }
    }

    @Test
    void smallerSideKeepsAspectRatioStratifiesAndMakesRgb(@TempDir Path dst) throws Exception {
        Preprocess.Report r = run(dst, Preprocess.Mode.SMALLER_SIDE, 96);
        assertEquals(10, r.classes());
        assertEquals(countImages(), r.train() + r.val());
        assertTrue(r.skipped().isEmpty(), r.skipped().toString());
        List<String[]> train = ProcessedDir.readCsv(dst.resolve("train.csv"), 2),
                val = ProcessedDir.readCsv(dst.resolve("val.csv"), 2);
        Map<String, int[]> perClass = new HashMap<>();
        for (String[] row : train) perClass.computeIfAbsent(row[1], k -> new int[2])[0]++;
        for (String[] row : val) perClass.computeIfAbsent(row[1], k -> new int[2])[1]++;
        for (Map.Entry<String, int[]> e : perClass.entrySet()) {
            double frac = e.getValue()[1] / (double) (e.getValue()[0] + e.getValue()[1]);
            assertEquals(0.2, frac, 0.02, "class " + e.getKey());
        }
        int grayscaleSources = 0, portraits = 0;
        for (String[] row : concat(train, val)) {
            Path out = dst.resolve(row[0]);
            BufferedImage o = ImageIO.read(out.toFile());
            Path src = CALTECH.resolve(row[1]).resolve(out.getFileName().toString());
            BufferedImage s = ImageIO.read(src.toFile());
            assertEquals(96, Math.min(o.getWidth(), o.getHeight()), row[0]);
            double aspectIn = (double) s.getWidth() / s.getHeight(), aspectOut = (double) o.getWidth() / o.getHeight();
            assertEquals(aspectIn, aspectOut, 0.02 * aspectIn + 1.0 / 96, "aspect ratio of " + row[0]);
            if (Math.abs(aspectIn - 1) > 0.05)
                assertEquals(s.getWidth() > s.getHeight(), o.getWidth() > o.getHeight(), "orientation of " + row[0]);
            if (s.getHeight() > s.getWidth()) portraits++;
            if (s.getRaster().getNumBands() == 1) {
                grayscaleSources++;
                assertEquals(3, o.getRaster().getNumBands(), row[0] + " should be RGB");
            }
        }
        assertEquals(32, grayscaleSources, "the dataset README says 32 grayscale JPEGs");
        assertTrue(portraits > 0, "the test needs portrait images to pin the orientation");
    }

    static List<String[]> concat(List<String[]> a, List<String[]> b) {
        List<String[]> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    @Test
    void centerCropAndStretchGiveSquaresAndTheMeanMatchesAnIndependentComputation(@TempDir Path dst) throws Exception {
        for (Preprocess.Mode mode : new Preprocess.Mode[] {Preprocess.Mode.CENTER_CROP, Preprocess.Mode.STRETCH}) {
            Path out = dst.resolve(mode.name());
            run(out, mode, 64);
            double[] sum = new double[3];
            long n = 0;
            for (String[] row : ProcessedDir.readCsv(out.resolve("train.csv"), 2)) {
                BufferedImage img = ImageIO.read(out.resolve(row[0]).toFile());
                assertEquals(64, img.getWidth());
                assertEquals(64, img.getHeight());
                for (int y = 0; y < 64; y++) {
                    for (int x = 0; x < 64; x++) {
                        int rgb = img.getRGB(x, y);
                        sum[0] += (rgb >> 16) & 0xff;
                        sum[1] += (rgb >> 8) & 0xff;
                        sum[2] += rgb & 0xff;
                        n++;
                    }
                }
            }
            JsonNode j =
                    new ObjectMapper().readTree(out.resolve("rgb_mean.json").toFile());
            for (int c = 0; c < 3; c++) {
                // the mean is taken before JPEG encoding; ImageIO reads the re-decoded JPEG: allow 1 level
                assertEquals(sum[c] / n, j.path("mean_255").get(c).asDouble(), 1.0, mode + " channel " + c);
            }
        }
    }

    @Test
    void runningTwiceGivesIdenticalOutput(@TempDir Path dst) throws Exception {
        run(dst.resolve("a"), Preprocess.Mode.CENTER_CROP, 48);
        run(dst.resolve("b"), Preprocess.Mode.CENTER_CROP, 48);
        for (String f : List.of("train.csv", "val.csv", "categories.csv", "rgb_mean.json", "skipped.csv")) {
            assertArrayEquals(
                    Files.readAllBytes(dst.resolve("a").resolve(f)),
                    Files.readAllBytes(dst.resolve("b").resolve(f)),
                    f);
        }
        for (String[] row : ProcessedDir.readCsv(dst.resolve("a/train.csv"), 2)) {
            assertArrayEquals(
                    Files.readAllBytes(dst.resolve("a").resolve(row[0])),
                    Files.readAllBytes(dst.resolve("b").resolve(row[0])),
                    row[0]);
        }
    }

    @Test
    void caltech256StyleFolderNamesGiveCleanLabels(@TempDir Path tmp) throws Exception {
        Path src = tmp.resolve("src");
        TestData.subset("caltech101-10", src.resolve("tmp"), 5, "dolphin", "lotus");
        Files.move(src.resolve("tmp/dolphin"), src.resolve("001.dolphin"));
        Files.move(src.resolve("tmp/lotus"), src.resolve("002.lotus"));
        Files.delete(src.resolve("tmp"));
        Preprocess.run(
                src,
                tmp.resolve("out"),
                new Preprocess.Options(0.2, 32, Preprocess.Mode.STRETCH, 1, "^\\d+\\.(.+)$", 2, 90),
                n -> {});
        assertEquals(
                List.of("id,label", "0,dolphin", "1,lotus"), Files.readAllLines(tmp.resolve("out/categories.csv")));
    }
}
