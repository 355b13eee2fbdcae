package convnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.Cli;
import convnet.Cli.Out;
import convnet.TestData;
import convnet.eval.Classifier;
import convnet.model.Models;
import convnet.model.Summary;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/** The command line, end to end, on real images: train → test → predict, and user errors. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EndToEndTest {
    @TempDir
    static Path tmp;

    static Path data, config, run;

    static Out cli(String... args) {
        return Cli.run(args);
    }

    @BeforeAll
    static void setUp() throws Exception {
        data = TestData.subset("flowers5-128", tmp.resolve("data"), 24, "daisy", "sunflower", "tulip");
        config = tmp.resolve("small.yaml");
        Files.writeString(config, """
                name: e2e
                seed: 1
                model: {name: preact_resnet20_cifar}
                data:
                  train: %s
                  val_split: 0.25
                  image_size: 32
                  batch_size: 16
                  workers: 2
                  train_transforms:
                    - {op: resize, size: 36}
                    - {op: random_crop, size: 32}
                    - {op: hflip}
                  eval_transforms:
                    - {op: resize, size: 32}
                    - {op: center_crop, size: 32}
                train:
                  epochs: 3
                  optimizer: {name: sgd, lr: 0.05}
                """.formatted(data));
        run = tmp.resolve("run");
    }

    @Test
    @Order(1)
    void trainWritesTheWholeRunDirectory() throws Exception {
        Out o = cli("train", config.toString(), "--run", run.toString());
        assertEquals(0, o.code(), o.stderr());
        for (String f : List.of(
                "config.yaml",
                "train.log",
                "metrics.csv",
                "classes.txt",
                "model/model.json",
                "model/weights.safetensors",
                "checkpoints/last.json",
                "checkpoints/best.json")) {
            assertTrue(Files.isRegularFile(run.resolve(f)), "missing " + f);
        }
        List<String> rows = Files.readAllLines(run.resolve("metrics.csv"));
        assertEquals(4, rows.size(), "header + one row per epoch: " + rows);
        assertTrue(rows.get(3).startsWith("3,"));
        assertEquals(List.of("daisy", "sunflower", "tulip"), Files.readAllLines(run.resolve("classes.txt")));
        String log = Files.readString(run.resolve("train.log"));
        assertTrue(log.contains("epoch 3/3"), log);
        String resolved = Files.readString(run.resolve("config.yaml"));
        assertTrue(
                resolved.contains("nesterov: true") && resolved.contains("mean:") && !resolved.contains("auto"),
                resolved);
        JsonNode model =
                new ObjectMapper().readTree(run.resolve("model/model.json").toFile());
        assertEquals("preact_resnet20_cifar", model.path("model").path("name").asText());
        assertEquals(3, model.path("classes").size());
        Path last = run.resolve("checkpoints")
                .resolve(new ObjectMapper()
                        .readTree(run.resolve("checkpoints/last.json").toFile())
                        .path("dir")
                        .asText());
        for (String f : List.of("model.safetensors", "optimizer.pt", "state.json"))
            assertTrue(Files.isRegularFile(last.resolve(f)), f);
        assertFalse(Files.list(run.resolve("checkpoints"))
                .anyMatch(p -> p.getFileName().toString().endsWith(".tmp")));
    }

    @Test
    @Order(2)
    void testReportsOnTheValidationSplit() throws Exception {
        Out o = cli("test", run.toString(), "--json");
        assertEquals(0, o.code(), o.stderr());
        JsonNode j = new ObjectMapper().readTree(o.stdout());
        assertEquals("validation", j.path("split").asText());
        assertEquals(18, j.path("images").asInt(), "a quarter of 72 images");
        double top1 = j.path("top1").asDouble();
        assertTrue(top1 >= 0 && top1 <= 1);
        assertEquals(1.0, j.path("top5").asDouble(), 1e-9, "three classes: top-5 is always right");
        assertEquals(3, j.path("per_class").size());
        assertTrue(Files.isRegularFile(run.resolve("test/confusion.csv")));
        long total = 0;
        for (JsonNode row : j.path("confusion")) for (JsonNode v : row) total += v.asLong();
        assertEquals(18, total);
        // fusing the run with itself changes nothing; test-time methods run and report themselves
        JsonNode fused = new ObjectMapper()
                .readTree(cli("test", run.toString(), run.toString(), "--json").stdout());
        assertEquals(top1, fused.path("top1").asDouble(), 1e-9);
        Out ttaOut = cli("test", run.toString(), "--multi-scale", "--dense", "--flip", "--json");
        assertEquals(0, ttaOut.code(), ttaOut.stderr());
        JsonNode tta = new ObjectMapper().readTree(ttaOut.stdout());
        assertEquals(18, tta.path("images").asInt());
        assertTrue(tta.path("method").asText().contains("dense"), tta.toString());
        assertTrue(Files.isRegularFile(run.resolve("test/confusion.png")));
        // the best epoch's bundle scores what metrics.csv recorded for that epoch
        double bestVal = Files.readAllLines(run.resolve("metrics.csv")).stream()
                .skip(1)
                .mapToDouble(l -> Double.parseDouble(l.split(",")[5]))
                .max()
                .orElseThrow();
        assertEquals(bestVal, top1, 1e-6);
    }

    @Test
    @Order(3)
    void predictPrintsClassNamesAndProbabilities() throws Exception {
        Path bad = tmp.resolve("not-an-image.jpg");
        Files.writeString(bad, "<html>404</html>");
        Path sunflower = TestData.dataset("predict-samples").resolve("sunflower.jpg");
        Out o = cli("predict", run.toString(), sunflower.toString(), bad.toString(), "--top-k", "2", "--json");
        assertEquals(2, o.code(), "an unreadable file makes the exit code 2");
        assertTrue(o.stderr().contains("not-an-image.jpg"), o.stderr());
        JsonNode preds = new ObjectMapper().readTree(o.stdout()).path("predictions");
        assertEquals(2, preds.size());
        JsonNode top = preds.get(0).path("top");
        assertEquals(2, top.size());
        assertTrue(List.of("daisy", "sunflower", "tulip")
                .contains(top.get(0).path("label").asText()));
        assertTrue(top.get(0).path("probability").asDouble()
                >= top.get(1).path("probability").asDouble());
        assertTrue(preds.get(1).has("error"));
        // the Java API gives the same answer
        var guesses = Classifier.load(run.resolve("model")).predict(sunflower, 3);
        assertEquals(top.get(0).path("label").asText(), guesses.get(0).label());
        assertEquals(
                1.0, guesses.stream().mapToDouble(Classifier.Guess::probability).sum(), 1e-4);
    }

    @Test
    @Order(4)
    void trainingAgainResumesAndAddsNoDuplicateRowsOrPoints() throws Exception {
        Out o = cli("train", config.toString(), "--run", run.toString(), "--set", "train.epochs=4");
        assertEquals(0, o.code(), o.stderr());
        List<String> rows = Files.readAllLines(run.resolve("metrics.csv"));
        assertEquals(5, rows.size(), rows.toString());
        String log = Files.readString(run.resolve("train.log"));
        assertTrue(log.contains("resumed from"));
        // each checkpoint carries the config that made it; a resume names what changed since
        assertTrue(log.contains("the config differs from the one that made epoch-0003: train.epochs 3 → 4"), log);
        assertTrue(Files.readString(run.resolve("checkpoints/epoch-0004/config.yaml"))
                .contains("epochs: 4"));
        // TensorBoard: every record's CRCs check out, and val/accuracy has exactly one point per epoch 1..4
        List<Path> events = Files.list(run)
                .filter(p -> p.getFileName().toString().startsWith("events.out.tfevents."))
                .toList();
        assertEquals(1, events.size());
        List<Long> steps = new ArrayList<>();
        int images = 0;
        List<String> graphs = new ArrayList<>();
        for (byte[] rec : convnet.TfRecords.read(events.get(0))) {
            String text = convnet.TfRecords.decodeRaw(rec);
            if (text.contains("\"IO Node\"")) graphs.add(text);
            if (text.contains("\"val/accuracy\"")) {
                Matcher m = Pattern.compile("(?m)^2: (\\d+)$").matcher(text);
                assertTrue(m.find(), text);
                steps.add(Long.parseLong(m.group(1)));
            }
            if (text.contains("\"inputs/")) images++;
        }
        assertEquals(List.of(1L, 2L, 3L, 4L), steps);
        assertTrue(images > 0, "sample input images");
        // the model graph: one GraphDef (Event field 4) with a node per layer, named by its path, with its output shape
        assertEquals(1, graphs.size());
        String graph = graphs.get(0);
        assertTrue(graph.startsWith("1: ") && graph.contains("\n4 {"), graph);
        Summary summary = Summary.of(Models.spec("preact_resnet20_cifar", 3).build(1), 3, 32, 32);
        for (Summary.Row r : summary.rows) {
            assertTrue(
                    graph.contains("1: \"preact_resnet20_cifar/" + r.name().replace('.', '/') + "\""),
                    "graph node for " + r.name());
        }
        assertTrue(graph.contains("1: \"_output_shapes\""), graph);
        for (String plot : List.of("loss.png", "accuracy.png", "lr.png")) {
            BufferedImage img = ImageIO.read(run.resolve("plots").resolve(plot).toFile());
            assertTrue(img.getWidth() > 100, plot);
        }
    }

    @Test
    @Order(5)
    void logFileNameAndLevelAreConfigurable() throws Exception {
        Out o = cli(
                "train",
                config.toString(),
                "--run",
                run.toString(),
                "--set",
                "train.epochs=5",
                "--set",
                "train.log_file=more.log",
                "--set",
                "train.log_level=debug");
        assertEquals(0, o.code(), o.stderr());
        String log = Files.readString(run.resolve("more.log"));
        assertTrue(log.contains(" DEBUG ") && log.contains("Total params") && log.contains("epoch 5/5"), log);
        assertFalse(
                Files.readString(run.resolve("train.log")).contains("epoch 5/5"), "the old log file is left as it was");
        Out bad = cli("train", config.toString(), "--run", run.toString(), "--set", "train.log_file=../escape.log");
        assertEquals(2, bad.code());
        assertTrue(
                bad.stderr().contains("train.log_file")
                        && bad.stderr().contains("a file name inside the run directory"),
                bad.stderr());
    }

    @Test
    void badConfigKeyIsOneLineAndExitCode2() throws Exception {
        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, Files.readString(config).replace("  epochs: 3", "  epohcs: 3"));
        Out o = cli("train", bad.toString(), "--run", tmp.resolve("badrun").toString());
        assertEquals(2, o.code());
        assertEquals(1, o.stderr().strip().lines().count(), o.stderr());
        int line = Files.readAllLines(bad).indexOf("  epohcs: 3") + 1;
        assertTrue(
                o.stderr().contains("bad.yaml line " + line + ":") && o.stderr().contains("train.epohcs"), o.stderr());
    }

    @Test
    void missingDatasetFolderIsOneLineAndExitCode2() {
        Out o = cli(
                "train",
                config.toString(),
                "--run",
                tmp.resolve("missing").toString(),
                "--set",
                "data.train=/no/such/folder");
        assertEquals(2, o.code());
        assertTrue(
                o.stderr().lines().anyMatch(l -> l.startsWith("error: dataset folder not found: /no/such/folder")),
                o.stderr());
        assertFalse(o.stderr().contains("\tat "), "no stack trace without --verbose");
    }

    @Test
    void summaryPrintsLayers() {
        Out o = cli("summary", "vgg16", "--classes", "1000");
        assertEquals(0, o.code(), o.stderr());
        assertTrue(o.stdout().contains("Total params: 138,357,544"), o.stdout());
        assertTrue(o.stdout().contains("[-1, 512, 7, 7]"), o.stdout());
    }
}
