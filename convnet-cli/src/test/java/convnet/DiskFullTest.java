package convnet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import convnet.data.Preprocess;
import convnet.engine.Engine;
import convnet.train.Checkpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes that fail for lack of space, on a small tmpfs made for the test (needs the right to mount,
 * which root has here; elsewhere the test is skipped, not passed): earlier outputs stay intact and
 * the error says so.
 */
@NeedsSharedData
class DiskFullTest {
    @TempDir
    Path tmp;

    Path mounted;

    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    boolean mount(Path dir, String size) throws Exception {
        Files.createDirectories(dir);
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString())
                .redirectErrorStream(true)
                .start();
        boolean ok = p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        if (ok) mounted = dir;
        return ok;
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted != null)
            new ProcessBuilder("umount", "-l", mounted.toString()).start().waitFor(20, TimeUnit.SECONDS);
    }

    @Test
    void preprocessThatRunsOutOfSpaceKeepsTheEarlierOutput() throws Exception {
        Path out = tmp.resolve("small");
        assumeTrue(mount(out, "400k"), "cannot mount a tmpfs here");
        Path src = TestData.subset("caltech101-10", tmp.resolve("src"), 3, "dolphin", "lotus");
        Preprocess.run(src, out, new Preprocess.Options(0.3, 32, Preprocess.Mode.STRETCH, 1, "^(.+)$", 2, 90), n -> {});
        byte[] train = Files.readAllBytes(out.resolve("train.csv")),
                mean = Files.readAllBytes(out.resolve("rgb_mean.json"));
        Path more = TestData.subset("caltech101-10", tmp.resolve("more"), 40, "dolphin", "lotus");
        UserException e = Assertions.assertThrows(
                UserException.class,
                () -> Preprocess.run(
                        more,
                        out,
                        new Preprocess.Options(0.3, 256, Preprocess.Mode.SMALLER_SIDE, 1, "^(.+)$", 2, 95),
                        n -> {}));
        assertTrue(e.getMessage().contains("cannot write") && e.getMessage().contains("intact"), e.getMessage());
        assertArrayEquals(train, Files.readAllBytes(out.resolve("train.csv")));
        assertArrayEquals(mean, Files.readAllBytes(out.resolve("rgb_mean.json")));
        try (var s = Files.walk(out)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary files left behind");
        }
    }

    @Test
    void aCheckpointThatDoesNotFitLeavesThePreviousOneUsable() throws Exception {
        Path run = tmp.resolve("run");
        assumeTrue(mount(run, "4m"), "cannot mount a tmpfs here");
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 8, "daisy", "rose");
        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(
                cfg,
                "name: full\nmodel: {name: preact_resnet20_cifar}\ndata: {train: " + data
                        + ", image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\ntrain: {epochs: 4}\n");
        Cli.Out o = Cli.run("train", cfg.toString(), "--run", run.toString());
        assertEquals(2, o.code(), o.stderr());
        assertTrue(o.stderr().contains("cannot write") && o.stderr().contains("intact"), o.stderr());
        Checkpoints c = new Checkpoints(run.resolve("checkpoints"));
        Path last = c.resolve("last");
        Checkpoints.State s = Checkpoints.verify(last);
        assertTrue(s.epoch() >= 1 && s.epoch() < 4, "the last complete checkpoint is epoch " + s.epoch());
    }
}
