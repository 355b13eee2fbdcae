package convnet.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.Cli;
import convnet.TestData;
import convnet.TinyRun;
import convnet.engine.Engine;
import convnet.train.Checkpoints;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command that reads a weights file — inspect, convert, import, training's model.init.weights, a resume —
 * answers a hostile one (nested a million levels deep, or claiming gigabytes it does not hold) with exit code 2
 * and one line on stderr naming the file and what is wrong: no stack trace, no StackOverflowError, no
 * OutOfMemoryError.
 */
class HostileWeightsCliTest {
    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    /** Exit code 2 and exactly one line on stderr, {@code error: FILE: ...} containing {@code what}. */
    static void oneLineError(Cli.Out o, Path file, String what) {
        assertEquals(1, o.stderr().lines().count(), "one line on stderr: " + o.stderr());
        oneErrorLine(o, file, what);
    }

    /** Exit code 2 and one error line, {@code error: FILE: ...} containing {@code what}, after the log lines of a start. */
    static void oneErrorLine(Cli.Out o, Path file, String what) {
        assertEquals(2, o.code(), o.stderr());
        List<String> errors =
                o.stderr().lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(1, errors.size(), o.stderr());
        assertTrue(errors.get(0).startsWith("error: " + file + ": "), o.stderr());
        assertTrue(errors.get(0).contains(what), o.stderr());
        assertFalse(o.stderr().contains("\tat ") || o.stderr().contains("Exception"), "no stack trace: " + o.stderr());
    }

    /** Hostile files by name, with what their error says. */
    static Map<Path, String> hostileFiles(Path dir) throws Exception {
        Map<Path, String> files = new LinkedHashMap<>();
        files.put(
                HostileFiles.legacy(dir.resolve("deep-marks.pth"), HostileFiles.nestedByMarks(200_000)),
                "pickle nesting deeper than 1000 levels");
        files.put(
                Files.write(
                        dir.resolve("deep-version.pth"),
                        HostileFiles.concat(
                                HostileFiles.legacyMagic(),
                                HostileFiles.nestedTuples(200_000).bytes())),
                "pickle nesting deeper than 1000 levels");
        files.put(
                HostileFiles.legacy(
                        dir.resolve("deep-key.pth"),
                        HostileFiles.nestedTopDown(new HostileFiles.Pickle().op('}'), 100_000)
                                .op('N', 's')
                                .stop()),
                "pickle nesting deeper than 1000 levels");
        files.put(
                HostileFiles.zipClaiming(dir.resolve("claims-9eb.pth"), 9_000_000_000_000_000_000L),
                "archive/data.pkl claims 7.8 EB uncompressed, more than the file's");
        files.put(
                HostileFiles.zipClaiming(dir.resolve("claims-4gb.pth"), 0xfffffff0L),
                "archive/data.pkl claims 4.0 GB uncompressed, more than the file's");
        files.put(
                HostileFiles.safetensors(
                        dir.resolve("beyond.safetensors"),
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1000],\"data_offsets\":[0,4000]}}",
                        HostileFiles.floats(1f)),
                "tensor 'w' has a bad byte range [0, 4000)");
        return files;
    }

    @Test
    void inspectConvertAndImportRefuseHostileFilesInOneLine(@TempDir Path tmp) throws Exception {
        for (Map.Entry<Path, String> f : hostileFiles(tmp).entrySet()) {
            Path file = f.getKey();
            oneLineError(Cli.run("weights", "inspect", file.toString()), file, f.getValue());
            Path converted = tmp.resolve(file.getFileName() + ".converted.safetensors");
            oneLineError(Cli.run("weights", "convert", file.toString(), converted.toString()), file, f.getValue());
            assertFalse(Files.exists(converted), "nothing written");
            Path imported = tmp.resolve(file.getFileName() + ".imported.safetensors");
            oneLineError(
                    Cli.run(
                            "weights",
                            "import",
                            file.toString(),
                            "--model",
                            "preact_resnet20_cifar",
                            "--classes",
                            "2",
                            "--out",
                            imported.toString()),
                    file,
                    f.getValue());
            assertFalse(Files.exists(imported), "nothing written");
        }
    }

    @Test
    void trainingWithHostileInitialWeightsStopsBeforeItStarts(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("data"), 2, "daisy", "rose");
        Map<Path, String> files = hostileFiles(tmp);
        for (Path file : List.of(
                files.keySet().stream()
                        .filter(p -> p.toString().endsWith("deep-marks.pth"))
                        .findFirst()
                        .orElseThrow(),
                files.keySet().stream()
                        .filter(p -> p.toString().endsWith("claims-9eb.pth"))
                        .findFirst()
                        .orElseThrow())) {
            Path config = tmp.resolve(file.getFileName() + ".yaml");
            Files.writeString(
                    config,
                    "name: hostile\nseed: 1\nmodel: {name: preact_resnet20_cifar, init: {weights: " + file
                            + "}}\ndata: {train: " + data
                            + ", image_size: 32, batch_size: 2, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\n"
                            + "train: {epochs: 1}\n");
            Path run = tmp.resolve("run-" + file.getFileName());
            Cli.Out o = Cli.run("train", config.toString(), "--run", run.toString(), "--threads", "2");
            oneErrorLine(o, file, files.get(file));
            assertFalse(Files.exists(run.resolve("checkpoints")), "no training happened");
        }
    }

    static String sha256(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }

    /** Replaces {@code ckpt}'s {@code name} (model.safetensors or optimizer.pt), and its checksum in state.json. */
    static void replace(Path ckpt, String name, byte[] content) throws Exception {
        Files.write(ckpt.resolve(name), content);
        String key = name.startsWith("model") ? "model_sha256" : "optimizer_sha256";
        Path state = ckpt.resolve("state.json");
        Files.writeString(
                state,
                Files.readString(state)
                        .replaceAll(
                                "\"" + key + "\"\\s*:\\s*\"[0-9a-f]+\"",
                                "\"" + key + "\": \"" + sha256(ckpt.resolve(name)) + "\""));
        Checkpoints.verify(ckpt); // the checksums match: only the content is bad
    }

    /** The zip {@code archive} rewritten (all entries stored) with {@code change} applied to its entry {@code name}. */
    static byte[] withEntry(Path archive, String name, UnaryOperator<HostileFiles.ZipItem> change) throws Exception {
        List<HostileFiles.ZipItem> items = new ArrayList<>();
        try (ZipFile zip = new ZipFile(archive.toFile())) {
            for (ZipEntry e : Collections.list(zip.entries())) {
                var item = HostileFiles.ZipItem.of(
                        e.getName(), zip.getInputStream(e).readAllBytes());
                items.add(e.getName().equals(name) ? change.apply(item) : item);
            }
        }
        return HostileFiles.zip(items, List.of(), 0);
    }

    /**
     * A resume reads model.safetensors through the safetensors reader and optimizer.pt through libtorch, after
     * checking it (libtorch's reader overflows the native stack on a deep pickle, which killed the JVM, and
     * trusts a zip's sizes). Checkpoints whose checksums were updated to match, so that only the content is bad.
     */
    @Test
    void resumingFromAHostileCheckpointStopsInOneLine(@TempDir Path tmp) throws Exception {
        TinyRun tiny = TinyRun.train(tmp.resolve("tiny"), "tiny", 4);
        Path ckpt = tiny.run().resolve("checkpoints/epoch-0001");
        Path optimizer = ckpt.resolve("optimizer.pt");
        TorchFile.checkArchive(optimizer); // what libtorch writes passes the check
        byte[] goodOptimizer = Files.readAllBytes(optimizer);
        String pkl = "optimizer/data.pkl";

        // a deep pickle in optimizer.pt: in a child JVM, as a native crash would take this one with it
        replace(
                ckpt,
                "optimizer.pt",
                withEntry(
                        optimizer,
                        pkl,
                        e -> HostileFiles.ZipItem.of(
                                pkl, HostileFiles.nestedTuples(200_000).bytes())));
        Path log = tmp.resolve("deep.log");
        Process p = Cli.process(
                        "train",
                        tiny.config().toString(),
                        "--run",
                        tiny.run().toString(),
                        "--threads",
                        "2",
                        "--resume",
                        ckpt.toString(),
                        "--set",
                        "train.epochs=2")
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the child JVM ends");
        String output = Files.readString(log);
        assertEquals(2, p.exitValue(), output);
        oneErrorLine(
                new Cli.Out(p.exitValue(), "", output), optimizer, pkl + ": pickle nesting deeper than 1000 levels");

        // optimizer.pt's data.pkl claims 4 GB: was libtorch's multi-line C++ error and exit code 1 with --resume
        Files.write(optimizer, goodOptimizer);
        replace(ckpt, "optimizer.pt", withEntry(optimizer, pkl, e -> e.claiming(0xfffffff0L)));
        Cli.Out o = Cli.run(
                "train",
                tiny.config().toString(),
                "--run",
                tiny.run().toString(),
                "--threads",
                "2",
                "--resume",
                ckpt.toString());
        oneErrorLine(o, optimizer, pkl + " claims 4.0 GB uncompressed, more than the file's");

        // model.safetensors with a tensor's bytes beyond the file, found by resuming without --resume too
        replace(ckpt, "optimizer.pt", goodOptimizer);
        Path model = ckpt.resolve("model.safetensors");
        byte[] st = Files.readAllBytes(model);
        long headerLength =
                ByteBuffer.wrap(st, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(st, 8, (int) headerLength, StandardCharsets.UTF_8);
        String forged = header.replaceFirst("\"data_offsets\":\\[0,(\\d+)\\]", "\"data_offsets\":[0,9999999999]")
                .strip();
        replace(
                ckpt,
                "model.safetensors",
                Files.readAllBytes(HostileFiles.safetensors(
                        tmp.resolve("forged.safetensors"),
                        forged,
                        Arrays.copyOfRange(st, 8 + (int) headerLength, st.length))));
        o = Cli.run("train", tiny.config().toString(), "--run", tiny.run().toString(), "--threads", "2");
        assertEquals(2, o.code(), o.stderr());
        assertTrue(
                o.stderr().contains("no usable checkpoint")
                        && o.stderr().contains("has a bad byte range [0, 9999999999)"),
                o.stderr());
        assertFalse(o.stderr().contains("\tat "), o.stderr());
    }
}
