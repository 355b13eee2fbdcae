package convnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.data.BadImageException;
import convnet.data.ImageFolder;
import convnet.data.Images;
import convnet.data.Preprocess;
import convnet.engine.Engine;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageOutputStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault and bad-input table (docs/faults.md): each kind of bad input ends in a clear one-line
 * error or a skip with a reason, or is handled as a user would expect; never a hang or a stack trace.
 */
@NeedsSharedData
class FaultsTest {
    static final Path PHOTO = TestData.datasets().resolve("caltech101-10/lotus/image_0001.jpg");

    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    static Cli.Out cli(String... args) {
        return Cli.run(args);
    }

    static void assertOneLineError(Cli.Out o, String fragment) {
        assertEquals(2, o.code(), o.stderr());
        List<String> lines =
                o.stderr().lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(1, lines.size(), o.stderr());
        assertTrue(lines.get(0).contains(fragment), o.stderr());
        assertFalse(o.stderr().contains("\tat "), "no stack trace without --verbose: " + o.stderr());
    }

    static int[] decodedSize(Path f) {
        try (PointerScope s = new PointerScope()) {
            Mat m = Images.decode(f);
            return new int[] {m.cols(), m.rows(), m.channels()};
        }
    }

    // ---- images that are unusual but valid: converted to 3-channel colour ----

    @Test
    void rgbaPalettteCmykAndGrayscaleBecomeRgb(@TempDir Path tmp) throws Exception {
        BufferedImage src = ImageIO.read(PHOTO.toFile());
        int w = src.getWidth(), h = src.getHeight();
        BufferedImage rgba = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        rgba.getGraphics().drawImage(src, 0, 0, null);
        ImageIO.write(rgba, "png", tmp.resolve("rgba.png").toFile());
        byte[] r = new byte[16], g = new byte[16], b = new byte[16];
        for (int i = 0; i < 16; i++) r[i] = g[i] = b[i] = (byte) (i * 17);
        BufferedImage pal =
                new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(4, 16, r, g, b));
        pal.getGraphics().drawImage(src, 0, 0, null);
        ImageIO.write(pal, "png", tmp.resolve("palette.png").toFile());
        BufferedImage gray = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        gray.getGraphics().drawImage(src, 0, 0, null);
        ImageIO.write(gray, "jpg", tmp.resolve("gray.jpg").toFile());
        writeCmykJpeg(src, tmp.resolve("cmyk.jpg"));
        for (String f : List.of("rgba.png", "palette.png", "gray.jpg", "cmyk.jpg")) {
            int[] s = decodedSize(tmp.resolve(f));
            assertEquals(w, s[0], f);
            assertEquals(h, s[1], f);
            assertEquals(3, s[2], f);
        }
    }

    /** A four-channel (CMYK-style, Adobe) JPEG written from the photo's raster. */
    static void writeCmykJpeg(BufferedImage src, Path out) throws Exception {
        int w = src.getWidth(), h = src.getHeight();
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = src.getRGB(x, y);
                int rr = (rgb >> 16) & 0xff, gg = (rgb >> 8) & 0xff, bb = rgb & 0xff;
                int k = 255 - Math.max(rr, Math.max(gg, bb));
                raster.setPixel(x, y, new int[] {255 - rr - k, 255 - gg - k, 255 - bb - k, k});
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out.toFile())) {
            writer.setOutput(ios);
            writer.write(new IIOImage(raster, null, null));
        }
        writer.dispose();
    }

    @Test
    void exifOrientationIsApplied(@TempDir Path tmp) throws Exception {
        byte[] jpeg = Files.readAllBytes(PHOTO);
        // APP1 Exif with one IFD entry: Orientation (0x0112) = 6, "rotate 90° clockwise to view"
        byte[] tiff = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0};
        byte[] exif = new byte[6 + tiff.length];
        System.arraycopy("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1), 0, exif, 0, 6);
        System.arraycopy(tiff, 0, exif, 6, tiff.length);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(jpeg, 0, 2);
        o.write(0xFF);
        o.write(0xE1);
        o.write((exif.length + 2) >> 8);
        o.write((exif.length + 2) & 0xff);
        o.write(exif);
        o.write(jpeg, 2, jpeg.length - 2);
        Files.write(tmp.resolve("rotated.jpg"), o.toByteArray());
        int[] plain = decodedSize(PHOTO), rotated = decodedSize(tmp.resolve("rotated.jpg"));
        assertEquals(plain[0], rotated[1]);
        assertEquals(plain[1], rotated[0]);
        assertTrue(plain[0] != plain[1], "the photo must not be square for this test");
    }

    @Test
    void animatedGifGivesItsFirstFrameOrAClearReason(@TempDir Path tmp) throws Exception {
        BufferedImage src = ImageIO.read(PHOTO.toFile());
        Path gif = tmp.resolve("anim.gif");
        ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(gif.toFile())) {
            writer.setOutput(ios);
            writer.prepareWriteSequence(null);
            for (int i = 0; i < 3; i++) {
                BufferedImage frame = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_RGB);
                frame.getGraphics().drawImage(src, i * 5, 0, null);
                ImageTypeSpecifier type = ImageTypeSpecifier.createFromRenderedImage(frame);
                IIOMetadata meta = writer.getDefaultImageMetadata(type, null);
                writer.writeToSequence(new IIOImage(frame, null, meta), null);
            }
            writer.endWriteSequence();
        }
        writer.dispose();
        int[] s = decodedSize(gif);
        assertEquals(src.getWidth(), s[0]);
        assertEquals(3, s[2]);
    }

    // ---- datasets ----

    @Test
    void emptyClassFolderSingleClassAndUnknownValidationClass(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 10, "daisy", "rose");
        Files.createDirectories(data.resolve("tulip"));
        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(
                cfg,
                "name: f\nmodel: {name: preact_resnet20_cifar}\ndata: {train: " + data
                        + ", image_size: 32, batch_size: 4}\ntrain: {epochs: 1}\n");
        assertOneLineError(
                cli("train", cfg.toString(), "--run", tmp.resolve("r1").toString()),
                "tulip: class folder holds no images");
        Files.delete(data.resolve("tulip"));
        Path single = TestData.subset("flowers5-128", tmp.resolve("single"), 10, "daisy");
        assertOneLineError(
                cli("train", cfg.toString(), "--run", tmp.resolve("r2").toString(), "--set", "data.train=" + single),
                "only one class");
        Path val = TestData.subset("flowers5-128", tmp.resolve("val"), 3, "daisy", "sunflower");
        assertOneLineError(
                cli("train", cfg.toString(), "--run", tmp.resolve("r3").toString(), "--set", "data.val=" + val),
                "class 'sunflower' is not among the training classes");
        assertOneLineError(
                cli("train", cfg.toString(), "--run", tmp.resolve("r4").toString(), "--set", "data.batch_size=64"),
                "larger than the training set");
        assertOneLineError(cli("train", tmp.resolve("nope.yaml").toString()), "config file not found");
    }

    @Test
    void symlinkLoopSpacesAndNonAsciiNames(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("d");
        Files.createDirectories(data.resolve("fleur à pétales"));
        Files.createDirectories(data.resolve("向日葵"));
        Files.copy(PHOTO, data.resolve("fleur à pétales/une image.jpg"));
        Files.copy(TestData.datasets().resolve("caltech101-10/lotus/image_0002.jpg"), data.resolve("向日葵/图 片.jpg"));
        Files.createSymbolicLink(data.resolve("向日葵/loop"), data);
        ImageFolder f = ImageFolder.scan(data, null);
        assertEquals(List.of("fleur à pétales", "向日葵"), f.classes);
        assertEquals(2, f.samples.size(), "the symlink loop is not followed");
        for (var s : f.samples) assertEquals(3, decodedSize(s.file())[2]);
        Preprocess.Report r = Preprocess.run(
                data,
                tmp.resolve("out"),
                new Preprocess.Options(0, 32, Preprocess.Mode.STRETCH, 1, "^(.+)$", 2, 90),
                n -> {});
        assertEquals(2, r.train());
    }

    @Test
    void duplicateFilesAcrossClassesAreReported(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 4, "daisy", "rose");
        Path dup = Files.list(data.resolve("daisy")).sorted().findFirst().orElseThrow();
        Files.copy(dup, data.resolve("rose/copy-of-daisy.jpg"));
        Preprocess.Report r = Preprocess.run(
                data,
                tmp.resolve("out"),
                new Preprocess.Options(0, 32, Preprocess.Mode.STRETCH, 1, "^(.+)$", 2, 90),
                n -> {});
        assertEquals(1, r.duplicates().size(), r.duplicates().toString());
        String csv = Files.readString(tmp.resolve("out/duplicates.csv"));
        assertTrue(
                csv.contains("copy-of-daisy.jpg")
                        && csv.contains(dup.getFileName().toString()),
                csv);
    }

    // ---- concurrency, checkpoints ----

    @Test
    void aSecondTrainOnTheSameRunDirectoryRefuses(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 8, "daisy", "rose");
        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(
                cfg,
                "name: f\nmodel: {name: preact_resnet20_cifar}\ndata: {train: " + data
                        + ", image_size: 32, batch_size: 4}\ntrain: {epochs: 1}\n");
        Path run = tmp.resolve("run");
        Files.createDirectories(run);
        // another process holds the lock: simulate with a lock held by a child JVM-independent channel in this process
        try (FileChannel ch =
                        FileChannel.open(run.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            assertOneLineError(
                    cli("train", cfg.toString(), "--run", run.toString()), "in use by another convnet process");
        }
        assertEquals(
                0,
                cli("train", cfg.toString(), "--run", run.toString()).code(),
                "free again once the lock is released");
    }

    @Test
    void damagedCheckpointsFallBackOrStopClearly(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 8, "daisy", "rose");
        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(
                cfg,
                "name: f\nseed: 3\nmodel: {name: preact_resnet20_cifar}\ndata: {train: " + data
                        + ", image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\ntrain: {epochs: 2}\n");
        Path run = tmp.resolve("run");
        assertEquals(0, cli("train", cfg.toString(), "--run", run.toString()).code());
        Path e2 = run.resolve("checkpoints/epoch-0002"), e1 = run.resolve("checkpoints/epoch-0001");
        assertTrue(Files.isDirectory(e1) && Files.isDirectory(e2), "the two newest checkpoints are kept");
        byte[] good = Files.readAllBytes(e1.resolve("model.safetensors"));
        // bit flip in the newest: checksum catches it, resume falls back to epoch 1 and redoes epoch 2
        byte[] flipped = Files.readAllBytes(e2.resolve("model.safetensors"));
        flipped[flipped.length / 2] ^= 0x10;
        Files.write(e2.resolve("model.safetensors"), flipped);
        Cli.Out o = cli("train", cfg.toString(), "--run", run.toString(), "--set", "train.epochs=3");
        assertEquals(0, o.code(), o.stderr());
        assertTrue(
                o.stderr().contains("does not match its checksum")
                        && o.stderr().contains("older checkpoint epoch-0001"),
                o.stderr());
        assertEquals(4, Files.readAllLines(run.resolve("metrics.csv")).size(), "epochs 1..3, no duplicate");
        // truncated, zero-length: every checkpoint damaged → one clear error, nothing overwritten
        for (Path c : List.of(run.resolve("checkpoints/epoch-0002"), run.resolve("checkpoints/epoch-0003"))) {
            byte[] b = Files.readAllBytes(c.resolve("optimizer.pt"));
            Files.write(c.resolve("optimizer.pt"), Arrays.copyOf(b, b.length / 3));
        }
        Path keep = run.resolve("checkpoints/epoch-0003/model.safetensors");
        byte[] before = Files.readAllBytes(keep);
        Files.write(run.resolve("checkpoints/epoch-0001/model.safetensors"), new byte[0]);
        assertOneLineError(
                cli("train", cfg.toString(), "--run", run.toString(), "--set", "train.epochs=4"),
                "no usable checkpoint");
        assertEquals(Arrays.toString(before), Arrays.toString(Files.readAllBytes(keep)), "nothing was overwritten");
        assertTrue(good.length > 0);
        // a checkpoint of another class count: the shape check names the tensor
        Path other = tmp.resolve("other");
        Path data3 = TestData.subset("flowers5-128", tmp.resolve("d3"), 8, "daisy", "rose", "tulip");
        assertEquals(
                0,
                cli(
                                "train",
                                cfg.toString(),
                                "--run",
                                other.toString(),
                                "--set",
                                "data.train=" + data3,
                                "--set",
                                "train.epochs=1")
                        .code());
        Cli.Out wrong = cli(
                "test",
                other.toString(),
                "--checkpoint",
                run.resolve("checkpoints/epoch-0003").toString());
        assertEquals(2, wrong.code());
        assertTrue(wrong.stderr().contains("fc.weight") || wrong.stderr().contains("damaged"), wrong.stderr());
    }

    @Test
    void aDivergingRunStopsClearlyAndKeepsItsLastGoodCheckpoint(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 8, "daisy", "rose");
        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(
                cfg,
                "name: nan\nmodel: {name: vgg11_bn_gap, options: {batch_norm: false}}\ndata: {train: " + data
                        + ", image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\ntrain: {epochs: 1, optimizer: {name: sgd, lr: 0.001}}\n");
        Path run = tmp.resolve("run");
        assertEquals(0, cli("train", cfg.toString(), "--run", run.toString()).code());
        byte[] good = Files.readAllBytes(run.resolve("checkpoints/epoch-0001/model.safetensors"));
        Cli.Out o = cli(
                "train",
                cfg.toString(),
                "--run",
                run.toString(),
                "--set",
                "train.epochs=5",
                "--set",
                "train.optimizer.lr=10");
        assertOneLineError(o, "training diverged");
        assertEquals(
                "{\"dir\": \"epoch-0001\"}",
                Files.readString(run.resolve("checkpoints/last.json")).strip());
        assertEquals(
                Arrays.toString(good),
                Arrays.toString(Files.readAllBytes(run.resolve("checkpoints/epoch-0001/model.safetensors"))));
    }

    @Test
    void weightFilesThatAreNotWeights(@TempDir Path tmp) throws Exception {
        Path fake = tmp.resolve("w.pth");
        Files.writeString(fake, "<html>not found</html>");
        assertOneLineError(cli("weights", "inspect", fake.toString()), "not a PyTorch weights file");
        assertOneLineError(
                cli(
                        "weights",
                        "inspect",
                        TestData.SHARED
                                .resolve("fixtures/weights/malicious.pth")
                                .toString()),
                "refusing to load");
        assertOneLineError(
                cli(
                        "weights",
                        "import",
                        TestData.SHARED
                                .resolve("fixtures/weights/vgg11_bn-head64.pth")
                                .toString(),
                        "--model",
                        "vgg11_bn",
                        "--classes",
                        "5",
                        "--out",
                        tmp.resolve("o.safetensors").toString()),
                "classifier.0.weight");
        assertFalse(Files.exists(tmp.resolve("o.safetensors")), "no half-written output");
    }

    @Test
    void badImageMessagesNameTheFile(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("page.jpg");
        Files.writeString(f, "<!DOCTYPE html><html><body>Error 404</body></html>");
        BadImageException e = assertThrows(BadImageException.class, () -> decodedSize(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    }
}
