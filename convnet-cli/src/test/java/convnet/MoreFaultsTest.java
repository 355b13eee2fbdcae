package convnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.DeflaterOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Inputs nobody had tried (docs/faults.md, cases 40 and on): each ends in one clear line, a skip, or correct handling. */
class MoreFaultsTest {
    @TempDir
    static Path shared;

    static Path data, config, run;

    @BeforeAll
    static void trainedRun() throws Exception {
        TinyRun t = TinyRun.train(shared, "m", 6);
        data = t.data();
        config = t.config();
        run = t.run();
    }

    static String oneLineError(Cli.Out o) {
        return NewUserTest.oneLineError(o);
    }

    @Test
    void aYamlAliasBombIsRefused(@TempDir Path tmp) throws Exception {
        StringBuilder bomb = new StringBuilder("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (char c = 'b'; c <= 'j'; c++) {
            char p = (char) (c - 1);
            bomb.append(c)
                    .append(": &")
                    .append(c)
                    .append(" [")
                    .append(String.join(", ", Collections.nCopies(9, "*" + p)))
                    .append("]\n");
        }
        Path f = tmp.resolve("bomb.yaml");
        Files.writeString(f, bomb);
        assertTrue(oneLineError(Cli.run("train", f.toString())).contains("aliases"));
    }

    @Test
    void pipesAndDevicesGivenAsImagesAreRefusedAtOnce(@TempDir Path tmp) throws Exception {
        Path fifo = tmp.resolve("fifo.jpg");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        for (String input : List.of(fifo.toString(), "/dev/zero")) {
            Cli.Out o = Cli.run("predict", run.toString(), input); // would block, or read forever
            assertEquals(2, o.code(), o.stderr());
            assertTrue(o.stderr().contains("not a regular file"), o.stderr());
        }
    }

    @Test
    void oddButValidImagesTrain(@TempDir Path tmp) throws Exception {
        Path odd = TestData.subset("flowers5-128", tmp.resolve("odd"), 4, "daisy", "rose");
        BufferedImage dot = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB),
                line = new BufferedImage(5000, 1, BufferedImage.TYPE_INT_RGB);
        dot.setRGB(0, 0, 0xff8800);
        ImageIO.write(dot, "png", odd.resolve("daisy/one-pixel.png").toFile());
        ImageIO.write(line, "png", odd.resolve("daisy/a-line.png").toFile());
        BufferedImage photo = ImageIO.read(Files.list(odd.resolve("rose"))
                .sorted()
                .findFirst()
                .orElseThrow()
                .toFile());
        ImageIO.write(photo, "bmp", odd.resolve("rose/photo.bmp").toFile());
        ImageIO.write(photo, "tiff", odd.resolve("rose/photo.tif").toFile());
        Files.writeString(odd.resolve("notes.txt"), "a file where a class folder would be\n");
        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(cfg, Files.readString(config).replace(data.toString(), odd.toString()));
        Cli.Out o = Cli.run("train", cfg.toString(), "--run", tmp.resolve("r").toString(), "--threads", "2");
        assertEquals(0, o.code(), o.stderr());
        assertTrue(
                o.stderr().contains("12 training") || o.stderr().matches("(?s).*data: 2 classes, \\d+ training.*"),
                o.stderr());
        assertEquals("daisy\nrose\n", Files.readString(tmp.resolve("r/classes.txt")), "the stray file is not a class");
    }

    @Test
    void setTakesListsAndExtremesAreRefused(@TempDir Path tmp) throws Exception {
        Cli.Out o = Cli.run(
                "train",
                config.toString(),
                "--run",
                tmp.resolve("r").toString(),
                "--threads",
                "2",
                "--set",
                "data.mean=[0.4, 0.4, 0.4]",
                "--set",
                "data.std=[0.3,0.3,0.3]");
        assertEquals(0, o.code(), o.stderr());
        assertTrue(
                Files.readString(tmp.resolve("r/config.yaml")).contains("mean: [0.4"), "the list from --set is used");
        assertTrue(oneLineError(Cli.run("train", config.toString(), "--set", "data.image_size=5000"))
                .contains("'data.image_size'"));
        assertTrue(oneLineError(Cli.run("train", config.toString(), "--set", "data.val_split=0.95"))
                .contains("'data.val_split'"));
        assertTrue(oneLineError(Cli.run("train", config.toString(), "--set", "data.workers=1000"))
                .contains("'data.workers'"));
        assertTrue(oneLineError(Cli.run(
                        "train", config.toString(), "--set", "data.mean=[0.4, 0.4]", "--set", "data.std=[1,1,1]"))
                .contains("three"));
    }

    @Test
    void truncatedOrEditedModelFilesGiveOneLine(@TempDir Path tmp) throws Exception {
        Path copy = tmp.resolve("copy");
        Files.createDirectories(copy.resolve("model"));
        for (String f : List.of("model.json", "weights.safetensors"))
            Files.copy(run.resolve("model").resolve(f), copy.resolve("model").resolve(f));
        byte[] w = Files.readAllBytes(copy.resolve("model/weights.safetensors"));
        Files.write(copy.resolve("model/weights.safetensors"), Arrays.copyOf(w, w.length / 2));
        assertTrue(oneLineError(Cli.run("test", copy.toString(), "--data", data.toString()))
                .contains("weights.safetensors"));
        Files.write(copy.resolve("model/weights.safetensors"), w);
        String json = Files.readString(copy.resolve("model/model.json"));
        Files.writeString(copy.resolve("model/model.json"), json.replace("preact_resnet20_cifar", "preact_resnet99"));
        assertTrue(oneLineError(Cli.run("test", copy.toString(), "--data", data.toString()))
                .contains("preact_resnet99"));
    }

    /** SIGTERM while test runs: the process ends, and the earlier confusion matrix is whole (written atomically). */
    @Test
    void sigtermDuringTestKeepsTheEarlierOutputWhole(@TempDir Path tmp) throws Exception {
        assertEquals(0, Cli.run("test", run.toString()).code());
        byte[] before = Files.readAllBytes(run.resolve("test/confusion.csv"));
        Process p = Cli.process("test", run.toString(), "--flip", "--crops", "2", "--threads", "1")
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("out.txt").toFile())
                .start();
        Thread.sleep(1500 + new Random().nextInt(1500));
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "it ended");
        byte[] after = Files.readAllBytes(run.resolve("test/confusion.csv"));
        assertTrue(
                Arrays.equals(before, after) || new String(after).startsWith("true\\predicted,daisy,rose\n"),
                new String(after));
        try (var s = Files.list(run.resolve("test"))) {
            assertFalse(s.anyMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary files left");
        }
    }

    static byte[] chunk(String type, byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(type.getBytes(StandardCharsets.US_ASCII));
        crc.update(data);
        return ByteBuffer.allocate(12 + data.length)
                .putInt(data.length)
                .put(type.getBytes(StandardCharsets.US_ASCII))
                .put(data)
                .putInt((int) crc.getValue())
                .array();
    }

    /** A PNG with a damaged colour profile, and a truncated one: libpng and OpenCV print nothing of their own. */
    @Test
    void nativeLibrariesPrintNoWarningsOfTheirOwn(@TempDir Path tmp) throws Exception {
        byte[] raw = new byte[8 * (1 + 8 * 3)];
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        try (var d = new DeflaterOutputStream(z)) {
            d.write(raw);
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        png.write(chunk(
                "IHDR",
                ByteBuffer.allocate(13)
                        .putInt(8)
                        .putInt(8)
                        .put(new byte[] {8, 2, 0, 0, 0})
                        .array()));
        png.write(chunk("iCCP", new byte[] {'b', 'a', 'd', 0, 0, 0x78, (byte) 0x9c, 3, 0, 0, 0, 0, 1}));
        png.write(chunk("IDAT", z.toByteArray()));
        png.write(chunk("IEND", new byte[0]));
        Path good = tmp.resolve("profile.png"), cut = tmp.resolve("cut.png");
        Files.write(good, png.toByteArray());
        Files.write(cut, Arrays.copyOf(png.toByteArray(), 60));
        ProcessBuilder pb = Cli.process("predict", run.toString(), good.toString(), cut.toString(), "--threads", "1");
        pb.environment().putIfAbsent("OPENCV_LOG_LEVEL", "ERROR"); // as the launcher and the build set it
        pb.redirectError(tmp.resolve("err.txt").toFile())
                .redirectOutput(tmp.resolve("out.txt").toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue());
        String err = Files.readString(tmp.resolve("err.txt"));
        assertTrue(
                Files.readString(tmp.resolve("out.txt")).contains("profile.png:"),
                "the PNG with a damaged profile is predicted");
        assertEquals(
                List.of("error: " + cut + ": not a readable image (unknown format, or truncated/corrupt data)"),
                err.lines().toList(),
                err);
    }
}
