package convnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Defects a new user met in the first hour (issue "Defects found trying convnet as a new user would"), each pinned. */
class NewUserTest {
    @TempDir
    static Path shared;

    static Path data, config, run;

    @BeforeAll
    static void trainedRun() throws Exception {
        TinyRun t = TinyRun.train(shared, "n", 8);
        data = t.data();
        config = t.config();
        run = t.run();
    }

    static String oneLineError(Cli.Out o) {
        assertEquals(2, o.code(), o.stdout() + o.stderr());
        List<String> lines =
                o.stderr().lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(1, lines.size(), o.stderr());
        assertFalse(o.stderr().contains("\tat "), "no stack trace: " + o.stderr());
        return lines.get(0);
    }

    @Test
    void predictOnAFolderSkipsFilesThatAreNotImages(@TempDir Path tmp) throws Exception {
        Path photos = TestData.subset("flowers5-128", tmp.resolve("photos"), 2, "tulip");
        Files.writeString(photos.resolve("README.md"), "# my photos\n");
        Files.write(photos.resolve(".DS_Store"), new byte[] {0, 0, 0, 1, 'B', 'u', 'd', '1'});
        Cli.Out o = Cli.run("predict", run.toString(), photos.toString());
        assertEquals(0, o.code(), o.stderr());
        assertEquals(2, o.stdout().lines().count(), o.stdout());
        assertTrue(o.stderr().contains("skipped 2 files") && o.stderr().contains("README.md"), o.stderr());
        // named on the command line, a file that is not an image is still an error
        Cli.Out named =
                Cli.run("predict", run.toString(), photos.resolve("README.md").toString());
        assertEquals(2, named.code(), named.stderr());
        assertTrue(oneLineError(Cli.run("predict", run.toString(), photos.toString(), "--batch", "0"))
                .contains("--batch"));
        assertTrue(oneLineError(Cli.run("predict", run.toString(), photos.toString(), "--batch", "-5"))
                .contains("--batch"));
    }

    @Test
    void aSetTypoIsBlamedOnSet() {
        String e = oneLineError(Cli.run("train", config.toString(), "--run", run.toString(), "--set", "train.epoch=2"));
        assertTrue(e.startsWith("error: --set train.epoch") && e.contains("unknown key"), e);
        String section = oneLineError(Cli.run("train", config.toString(), "--set", "trian.epochs=2"));
        assertTrue(section.startsWith("error: --set trian.epochs"), section);
    }

    @Test
    void threadCountsAreBounded() {
        assertTrue(oneLineError(Cli.run("models", "--threads", "100000")).contains("compute threads must be in [0, "));
        assertTrue(oneLineError(Cli.run("models", "--threads", "-1")).contains("compute threads must be in [0, "));
    }

    @Test
    void dataParallelStartsThatCannotWorkEndQuickly(@TempDir Path tmp) {
        // a batch that does not divide: refused before waiting for anyone
        String e = oneLineError(Cli.run(
                "train", config.toString(), "--run", tmp.resolve("r").toString(), "--world-size", "3", "--rank", "0"));
        assertTrue(e.contains("must be divisible by the number of processes (3)"), e);
        // no partner: a clear message after the join timeout, not a silent wait
        int port = 20000 + new Random().nextInt(20000);
        long t0 = System.nanoTime();
        String alone = oneLineError(Cli.run(
                "train",
                config.toString(),
                "--run",
                tmp.resolve("r").toString(),
                "--world-size",
                "2",
                "--rank",
                "0",
                "--master",
                "127.0.0.1:" + port,
                "--join-timeout",
                "2"));
        assertTrue(alone.contains("did not join") && alone.contains("--join-timeout"), alone);
        assertTrue((System.nanoTime() - t0) / 1e9 < 60, "it gave up");
    }

    @Test
    void aDamagedModelDescriptionNamesTheKey(@TempDir Path tmp) throws Exception {
        Path copy = tmp.resolve("copy");
        Files.createDirectories(copy.resolve("model"));
        for (String f : List.of("model.json", "weights.safetensors"))
            Files.copy(run.resolve("model").resolve(f), copy.resolve("model").resolve(f));
        String json = Files.readString(copy.resolve("model/model.json"));
        Path photo = TestData.subset("flowers5-128", tmp.resolve("p"), 1, "rose");
        Files.writeString(copy.resolve("model/model.json"), json.replaceFirst("\"mean\"", "\"meen\""));
        String e = oneLineError(Cli.run("predict", copy.toString(), photo.toString()));
        assertTrue(e.contains("model.json") && e.contains("'mean'"), e);
        Files.writeString(
                copy.resolve("model/model.json"), json.replaceFirst("\"classes\" : \\[[^\\]]*\\]", "\"classes\" : 5"));
        e = oneLineError(Cli.run("predict", copy.toString(), photo.toString()));
        assertTrue(e.contains("model.json") && e.contains("'classes'") && e.contains("list"), e);
        Files.writeString(
                copy.resolve("model/model.json"), json.replaceFirst("\"std\" : \\[[^\\]]*\\]", "\"std\" : [ 0.2 ]"));
        e = oneLineError(Cli.run("test", copy.toString(), "--data", data.toString()));
        assertTrue(e.contains("'std'") && e.contains("three"), e);
    }

    static Path safetensors(Path file, String shape, int bytes) throws Exception {
        String json = "{\"w\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0," + bytes + "]}}";
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Files.write(file, b.array());
        return file;
    }

    @Test
    void weightFilesWithImpossibleShapesAreRefused(@TempDir Path tmp) throws Exception {
        Path negative = safetensors(tmp.resolve("neg.safetensors"), "[-1,-4]", 16);
        assertTrue(
                oneLineError(Cli.run("weights", "inspect", negative.toString())).contains("negative size"));
        assertTrue(oneLineError(Cli.run(
                        "weights",
                        "convert",
                        negative.toString(),
                        tmp.resolve("o.safetensors").toString()))
                .contains("negative size"));
        Path huge = safetensors(tmp.resolve("huge.safetensors"), "[1000000,1000000]", 16);
        assertTrue(oneLineError(Cli.run("weights", "inspect", huge.toString())).contains("more than convnet loads"));
        // two tensors sharing bytes
        String json =
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        Path overlap = tmp.resolve("overlap.safetensors");
        Files.write(
                overlap,
                ByteBuffer.allocate(8 + h.length + 12)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(h.length)
                        .put(h)
                        .array());
        assertTrue(
                oneLineError(Cli.run("weights", "inspect", overlap.toString())).contains("overlap"));
    }

    @Test
    void configMistakesThatUsedToPassSilently(@TempDir Path tmp) throws Exception {
        String base = Files.readString(config);
        Path c = tmp.resolve("c.yaml");
        Files.writeString(c, base + "seed: 2\n");
        assertTrue(oneLineError(Cli.run("train", c.toString())).contains("appears twice"));
        Files.writeString(c, base.replace(", std: [0.2, 0.2, 0.2]", ""));
        assertTrue(oneLineError(Cli.run("train", c.toString())).contains("without 'std'"));
        Files.writeString(
                c, base.replace("{epochs: 1}", "{epochs: 1, schedule: {name: multistep, milestones: [8, 4]}}"));
        assertTrue(oneLineError(Cli.run("train", c.toString())).contains("increasing order"));
        Files.writeString(c, base.replace("{epochs: 1}", "{epochs: 1, log_file: config.yaml}"));
        assertTrue(oneLineError(Cli.run("train", c.toString())).contains("log_file"));
        Files.write(c, ("# caf\u00e9 in Latin-1: \n" + base).getBytes(StandardCharsets.ISO_8859_1));
        Files.write(c, Arrays.copyOf(Files.readAllBytes(c), Files.readAllBytes(c).length));
        byte[] latin1 = Files.readAllBytes(c);
        assertTrue(new String(latin1, StandardCharsets.ISO_8859_1).contains("caf\u00e9"));
        assertTrue(oneLineError(Cli.run("train", c.toString())).contains("not UTF-8"));
    }

    @Test
    void aRefusedSecondTrainLeavesTheRunningRunsLogAlone(@TempDir Path tmp) throws Exception {
        Path log = run.resolve("train.log");
        byte[] before = Files.readAllBytes(log);
        try (FileChannel ch =
                        FileChannel.open(run.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            assertTrue(oneLineError(Cli.run("train", config.toString(), "--run", run.toString()))
                    .contains("in use by another convnet process"));
        }
        assertEquals(new String(before, StandardCharsets.UTF_8), Files.readString(log));
    }

    @Test
    void aLongEpochIsNotSilentWhenOutputIsNotATerminal(@TempDir Path tmp) throws Exception {
        Cli.Out o = Cli.run(
                "train",
                config.toString(),
                "--run",
                tmp.resolve("r").toString(),
                "--threads",
                "2",
                "--set",
                "train.progress_seconds=0",
                "--set",
                "data.batch_size=2");
        assertEquals(0, o.code(), o.stderr());
        List<String> lines = o.stderr()
                .lines()
                .filter(l -> l.matches(".*epoch 1/1  \\d+/6 .*img/s.*left.*"))
                .toList();
        assertTrue(lines.size() >= 3, "a line per batch with progress_seconds 0:\n" + o.stderr());
    }

    @Test
    void withoutAUnicodeConsoleGlyphsAreSpelledInAscii() throws Exception {
        ProcessBuilder pb = Cli.process("summary", "preact_resnet20_cifar", "--input", "3x32x32", "--threads", "1");
        pb.environment().put("LC_ALL", "C");
        pb.environment().put("LANG", "C");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor());
        String text = new String(out, StandardCharsets.US_ASCII);
        assertTrue(text.contains("Conv2d(3->16, 3x3)"), text);
        assertFalse(text.contains("?"), text);
        for (byte b : out) assertTrue(b >= 0, "ASCII only");
    }
}
