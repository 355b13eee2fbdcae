package convnet.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.Cli;
import convnet.TestData;
import convnet.config.ConfigNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A refused start changes nothing in the run directory: the run setup checks config, data, classes and
 * the checkpoint to resume from before it writes, and {@code --restart} removes only what convnet wrote.
 */
class RunSetupTest {
    @TempDir
    static Path shared;

    static Path flowers2, flowers2Other, oneClass;

    @BeforeAll
    static void data() throws Exception {
        flowers2 = TestData.subset("flowers5-128", shared.resolve("two"), 8, "daisy", "rose");
        flowers2Other = TestData.subset("flowers5-128", shared.resolve("other"), 8, "sunflower", "tulip");
        oneClass = TestData.subset("flowers5-128", shared.resolve("one"), 8, "daisy");
    }

    static Path config(Path dir, String name) throws Exception {
        Path cfg = dir.resolve(name + ".yaml");
        Files.writeString(
                cfg,
                "name: " + name + "\nseed: 5\nmodel: {name: preact_resnet20_cifar}\ndata: {train: " + flowers2
                        + ", image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\ntrain: {epochs: 1}\n");
        return cfg;
    }

    /** Every file under {@code dir} with its bytes, to compare before and after. */
    static Map<String, String> snapshot(Path dir) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                if (p.getFileName().toString().endsWith(".log")) continue; // the log may say what was refused
                out.put(
                        dir.relativize(p).toString(),
                        Arrays.toString(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
            }
        }
        return out;
    }

    static Cli.Out refused(String... args) {
        Cli.Out o = Cli.run(args);
        assertEquals(2, o.code(), o.stderr());
        assertEquals(1, o.stderr().lines().filter(l -> l.startsWith("error: ")).count(), o.stderr());
        assertFalse(o.stderr().contains("\tat "), "no stack trace: " + o.stderr());
        return o;
    }

    static Path trained(Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        Cli.Out o = Cli.run("train", config(tmp, "r").toString(), "--run", run.toString(), "--threads", "2");
        assertEquals(0, o.code(), o.stderr());
        assertTrue(Files.isDirectory(run.resolve("checkpoints/epoch-0001"))
                && Files.isRegularFile(run.resolve("model/model.json")));
        return run;
    }

    @Test
    void restartWithAConfigThatFailsValidationDeletesNothing(@TempDir Path tmp) throws Exception {
        Path run = trained(tmp);
        String cfg = tmp.resolve("r.yaml").toString();
        Map<String, String> before = snapshot(run);
        assertTrue(refused("train", cfg, "--run", run.toString(), "--restart", "--set", "data.batch_size=64")
                .stderr()
                .contains("larger than the training set"));
        assertEquals(before, snapshot(run));
        assertTrue(refused("train", cfg, "--run", run.toString(), "--restart", "--set", "data.train=" + oneClass)
                .stderr()
                .contains("only one class"));
        assertEquals(before, snapshot(run));
        assertTrue(Files.exists(run.resolve("metrics.csv")) && Files.exists(run.resolve("checkpoints/last.json")));
    }

    @Test
    void restartRemovesOnlyWhatConvnetWroteAndForeignFoldersAreRefused(@TempDir Path tmp) throws Exception {
        Path run = trained(tmp);
        Files.writeString(run.resolve("model/User.java"), "class User {}\n");
        Files.writeString(run.resolve("checkpoints/notes.txt"), "mine\n");
        Cli.Out o = Cli.run(
                "train", tmp.resolve("r.yaml").toString(), "--run", run.toString(), "--restart", "--threads", "2");
        assertEquals(0, o.code(), o.stderr());
        assertEquals("class User {}\n", Files.readString(run.resolve("model/User.java")));
        assertEquals("mine\n", Files.readString(run.resolve("checkpoints/notes.txt")));
        assertEquals(2, Files.readAllLines(run.resolve("metrics.csv")).size(), "the restarted run has one epoch");

        // a folder that is not a run, and not empty, is never trained into (nor cleared)
        Path project = tmp.resolve("project");
        Files.createDirectories(project.resolve("model"));
        Files.writeString(project.resolve("model/User.java"), "class User {}\n");
        Files.writeString(project.resolve("pom.xml"), "<project/>\n");
        Map<String, String> before = snapshot(project);
        assertTrue(refused("train", tmp.resolve("r.yaml").toString(), "--run", project.toString(), "--restart")
                .stderr()
                .contains("not a convnet run"));
        assertEquals(before, snapshot(project));
        assertFalse(Files.exists(project.resolve(".lock")));

        // and a run name of '.' or '..' is refused before it names a folder
        for (String name : new String[] {"..", "."}) {
            Path cfg = tmp.resolve("dots.yaml");
            Files.writeString(cfg, Files.readString(tmp.resolve("r.yaml")).replace("name: r", "name: '" + name + "'"));
            assertTrue(refused("train", cfg.toString(), "--restart").stderr().contains("'name'"));
        }
    }

    @Test
    void aRefusedStartRewritesNeitherConfigNorClasses(@TempDir Path tmp) throws Exception {
        Path run = trained(tmp);
        String cfg = tmp.resolve("r.yaml").toString();
        Map<String, String> before = snapshot(run);
        // other classes: the run's checkpoint is not continued on them
        Cli.Out o = refused("train", cfg, "--run", run.toString(), "--set", "data.train=" + flowers2Other);
        assertTrue(o.stderr().contains("classes"), o.stderr());
        assertEquals(before, snapshot(run));
        // --resume naming something that is not a checkpoint, with another validation split
        o = refused("train", cfg, "--run", run.toString(), "--resume", tmp.toString(), "--set", "data.val_split=0.5");
        assertTrue(o.stderr().contains("not a checkpoint"), o.stderr());
        assertEquals(before, snapshot(run));
        // so test still scores the model on the split it was validated on
        Cli.Out t = Cli.run("test", run.toString(), "--json");
        assertEquals(0, t.code(), t.stderr());
        RunConfig rc = RunConfig.from(ConfigNode.load(Path.of(cfg)), tmp);
        int split = TrainingData.validationSamples(rc).size();
        ConfigNode other = ConfigNode.load(Path.of(cfg));
        other.set("data.val_split=0.5");
        assertTrue(
                split
                        != TrainingData.validationSamples(RunConfig.from(other, tmp))
                                .size(),
                "the two splits differ, so the check means something");
        assertTrue(t.stdout().contains("\"images\" : " + split + ","), t.stdout());
        assertArrayEquals(Files.readAllBytes(run.resolve("classes.txt")), "daisy\nrose\n".getBytes());
    }

    @Test
    void aFailedStartInANewFolderLeavesNoFolderBehind(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("new");
        refused("train", config(tmp, "n").toString(), "--run", run.toString(), "--set", "data.batch_size=64");
        assertFalse(Files.exists(run), "nothing was created");
    }

    /** Found by a reviewer: folders named like a run's, in a folder that is not a run, are the user's. */
    @Test
    void aFolderWithRunLikeNamesIsNotARun(@TempDir Path tmp) throws Exception {
        Path project = tmp.resolve("proj");
        Files.createDirectories(project.resolve("test"));
        Files.createDirectories(project.resolve("model"));
        Files.writeString(project.resolve("model/weights.safetensors"), "my weights\n");
        Map<String, String> before = snapshot(project);
        assertTrue(refused("train", config(tmp, "p").toString(), "--run", project.toString())
                .stderr()
                .contains("not a convnet run"));
        assertEquals(before, snapshot(project));
        // an empty folder may be trained into; a refused start there leaves it empty (no .lock behind)
        Path empty = tmp.resolve("empty");
        Files.createDirectories(empty);
        refused("train", config(tmp, "e").toString(), "--run", empty.toString(), "--set", "data.batch_size=64");
        try (Stream<Path> s = Files.list(empty)) {
            assertEquals(0, s.count(), "nothing left in the empty folder");
        }
    }

    @Test
    void otherClassesAreNamedAsSuchAndRestartTakesTheTestResultsToo(@TempDir Path tmp) throws Exception {
        Path run = trained(tmp);
        String cfg = tmp.resolve("r.yaml").toString();
        Path three = TestData.subset("flowers5-128", tmp.resolve("three"), 8, "daisy", "rose", "tulip");
        Cli.Out o = refused("train", cfg, "--run", run.toString(), "--set", "data.train=" + three);
        assertTrue(o.stderr().contains("classes") && !o.stderr().contains("no usable checkpoint"), o.stderr());
        assertTrue(refused("train", cfg, "--run", run.toString(), "--restart", "--resume", "last")
                .stderr()
                .contains("contradict"));
        assertTrue(refused(
                        "train",
                        cfg,
                        "--run",
                        run.toString(),
                        "--resume",
                        tmp.resolve("nowhere").toString())
                .stderr()
                .contains("no such checkpoint"));
        assertEquals(0, Cli.run("test", run.toString()).code());
        assertTrue(Files.exists(run.resolve("test/confusion.csv")));
        Cli.Out again = Cli.run("train", cfg, "--run", run.toString(), "--restart", "--threads", "2");
        assertEquals(0, again.code(), again.stderr());
        assertFalse(
                Files.exists(run.resolve("test/confusion.csv")), "stale test results of the earlier model are gone");
        assertTrue(again.stderr().contains("--restart: removed"), again.stderr());
    }
}
