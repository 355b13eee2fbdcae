package convnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.Cli;
import convnet.TestData;
import convnet.io.Csv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The listed dataset forms end to end: a run trained from a CSV manifest (quoted paths with commas, spaces and
 * quotes) with an ImageNet-style validation folder and labels file, tested on both forms; {@code preprocess} of
 * each; and every bad input as one line with exit code 2 and nothing written.
 */
class ManifestCliTest {
    @TempDir
    static Path tmp;

    /** {@code data/train.csv} (6 daisies, 6 roses under awkward names), {@code val/} + {@code val_labels.txt} (2 + 2). */
    static Path train, val, valLabels, run;

    @BeforeAll
    static void trainFromAManifest() throws Exception {
        Path src = TestData.subset("flowers5-128", tmp.resolve("src"), 8, "daisy", "rose");
        Path photos = Files.createDirectories(tmp.resolve("data/photos, 2024"));
        val = Files.createDirectories(tmp.resolve("val"));
        StringBuilder manifest = new StringBuilder("id,path,label\r\n");
        StringBuilder labels = new StringBuilder();
        int n = 0;
        for (String c : List.of("daisy", "rose")) {
            List<Path> files = list(src.resolve(c));
            for (int i = 0; i < files.size(); i++) {
                n++;
                if (i < 6) {
                    String name = c.equals("rose") && i == 0 ? "say \"hi\", " + i + ".jpg" : c + " " + i + ".jpg";
                    Files.copy(files.get(i), photos.resolve(name));
                    manifest.append(n)
                            .append(",\"photos, 2024/")
                            .append(name.replace("\"", "\"\""))
                            .append("\",")
                            .append(c)
                            .append("\r\n");
                } else {
                    String name = String.format("ILSVRC2012_val_%08d.JPEG", n);
                    Files.copy(files.get(i), val.resolve(name));
                    labels.append(name).append(' ').append(c).append('\n');
                }
            }
        }
        train = tmp.resolve("data/train.csv");
        Files.writeString(train, manifest);
        valLabels = tmp.resolve("val_labels.txt");
        Files.writeString(valLabels, labels);
        run = tmp.resolve("run");
        Path config = config("m", "train: '" + train + "', val: '" + val + "', val_labels: '" + valLabels + "'");
        Cli.Out o = Cli.run("train", config.toString(), "--run", run.toString(), "--threads", "2");
        assertEquals(0, o.code(), o.stderr());
        String log = Files.readString(run.resolve("train.log"));
        assertTrue(log.contains("data: 2 classes, 12 training and 4 validation images"), log);
        assertEquals(List.of("daisy", "rose"), Files.readAllLines(run.resolve("classes.txt")));
    }

    static List<Path> list(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    /** A tiny config (as TinyRun's) whose {@code data} section starts with {@code data}. */
    static Path config(String name, String data) throws Exception {
        Path config = tmp.resolve(name + ".yaml");
        Files.writeString(
                config,
                "name: " + name + "\nseed: 1\nmodel: {name: preact_resnet20_cifar}\ndata: {" + data
                        + ", image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\n"
                        + "train: {epochs: 1}\n");
        return config;
    }

    static JsonNode json(Cli.Out o) throws Exception {
        assertEquals(0, o.code(), o.stderr());
        return new ObjectMapper().readTree(o.stdout());
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
    void testRecomputesTheValidationSetFromTheLabelsFileAndTakesEitherFormAsData() throws Exception {
        JsonNode split = json(Cli.run("test", run.toString(), "--json"));
        assertEquals("validation", split.get("split").asText());
        assertEquals(4, split.get("images").asInt());

        JsonNode flat = json(
                Cli.run("test", run.toString(), "--data", val.toString(), "--labels", valLabels.toString(), "--json"));
        assertEquals(4, flat.get("images").asInt());
        assertEquals(split.get("top1").asDouble(), flat.get("top1").asDouble(), 1e-9);
        assertEquals(split.get("confusion"), flat.get("confusion"));
        assertEquals(
                2,
                flat.get("confusion").get(0).get(0).asInt()
                        + flat.get("confusion").get(0).get(1).asInt());

        // ImageNet's LOC_val_solution.csv as it comes: ids without the extension, the synset first in the boxes
        Path loc = tmp.resolve("LOC_val_solution.csv");
        StringBuilder s = new StringBuilder("ImageId,PredictionString\n");
        for (String line : Files.readAllLines(valLabels)) {
            String[] f = line.split(" ");
            s.append(f[0].replace(".JPEG", "")).append(',').append(f[1]).append(" 1 2 30 40 \n");
        }
        Files.writeString(loc, s);
        JsonNode fromLoc =
                json(Cli.run("test", run.toString(), "--data", val.toString(), "--labels", loc.toString(), "--json"));
        assertEquals(flat.get("confusion"), fromLoc.get("confusion"));

        JsonNode manifest = json(Cli.run("test", run.toString(), "--data", train.toString(), "--json"));
        assertEquals(12, manifest.get("images").asInt());
        assertEquals(train.toString(), manifest.get("split").asText());
    }

    @Test
    void preprocessTakesAManifestAndALabelsFolder() throws Exception {
        Path out = tmp.resolve("processed");
        Cli.Out o = Cli.run("preprocess", train.toString(), out.toString(), "--val", "0.34", "--size", "32");
        assertEquals(0, o.code(), o.stderr());
        assertTrue(o.stdout().contains("2 classes, 8 train + 4 val images, 0 skipped"), o.stdout());
        assertEquals("id,label\n0,daisy\n1,rose\n", Files.readString(out.resolve("categories.csv")));
        Map<String, Integer> perClass = new TreeMap<>();
        for (String table : List.of("train.csv", "val.csv")) {
            for (String[] row : Csv.read(out.resolve(table), 2)) {
                assertTrue(Files.isRegularFile(out.resolve(row[0])), row[0]);
                assertTrue(row[0].startsWith("images/" + row[1] + "/"), row[0]);
                perClass.merge(row[1], 1, Integer::sum);
            }
        }
        assertEquals(Map.of("daisy", 6, "rose", 6), perClass);

        // the processed folder trains as any other, with the flat folder as its validation set
        Path config = config("p", "train: '" + out + "', val: '" + val + "', val_labels: '" + valLabels + "'");
        Path run2 = tmp.resolve("run-processed");
        Cli.Out t = Cli.run("train", config.toString(), "--run", run2.toString(), "--threads", "2");
        assertEquals(0, t.code(), t.stderr());
        assertTrue(Files.readString(run2.resolve("train.log")).contains("8 training and 4 validation images"));

        Path outVal = tmp.resolve("processed-val");
        Cli.Out v = Cli.run(
                "preprocess", val.toString(), outVal.toString(), "--labels", valLabels.toString(), "--val", "0");
        assertEquals(0, v.code(), v.stderr());
        assertTrue(v.stdout().contains("2 classes, 4 train + 0 val images"), v.stdout());
    }

    /** What a folder holds, file by file with contents, to show that a refused command changed nothing. */
    static Map<String, String> snapshot(Path dir) throws Exception {
        Map<String, String> m = new TreeMap<>();
        if (!Files.exists(dir)) return m;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList())
                m.put(dir.relativize(p).toString(), Files.size(p) + ":" + Arrays.hashCode(Files.readAllBytes(p)));
        }
        return m;
    }

    @Test
    void eachBadInputIsOneLineWithExitCodeTwoAndNothingWritten() throws Exception {
        String ok = "\"photos, 2024/daisy 0.jpg\",daisy\n\"photos, 2024/rose 1.jpg\",rose\n";
        Path dir = tmp.resolve("data");
        record Bad(String name, String text, String expected) {}
        List<Bad> bad = new ArrayList<>(List.of(
                new Bad(
                        "no-header.csv",
                        ok,
                        "no-header.csv line 1: expected a header naming the columns path and label"),
                new Bad(
                        "columns.csv",
                        "path,label\n" + ok + "\"photos, 2024/rose 2.jpg\",rose,spare\n",
                        "columns.csv line 4: expected 2 fields as the header has (path,label), found 3"),
                new Bad(
                        "quote.csv",
                        "path,label\n" + ok + "\"photos, 2024/rose 2.jpg,rose\nphotos/rose 3.jpg,rose\n",
                        "quote.csv line 4: a quoted field is not closed"),
                new Bad(
                        "quote-mid.csv",
                        "path,label\n" + ok + "\"photos, 2024/rose 2.jpg,rose\n\"photos, 2024/rose 3.jpg\",rose\n",
                        "quote-mid.csv line 4: the quoted field opened here closes on line 5 and is followed by 'p'"),
                new Bad(
                        "missing.csv",
                        "path,label\n" + ok + "\"photos, 2024/rose 9.jpg\",rose\n",
                        "missing.csv line 4: image 'photos, 2024/rose 9.jpg' not found (no file "
                                + dir.resolve("photos, 2024/rose 9.jpg") + ")"),
                new Bad(
                        "empty-class.csv",
                        "path,label\n" + ok + "\"photos, 2024/rose 2.jpg\",\n",
                        "empty-class.csv line 4: the label of 'photos, 2024/rose 2.jpg' is empty (expected a class name)"),
                new Bad(
                        "one-class.csv",
                        "path,label\n\"photos, 2024/daisy 0.jpg\",daisy\n\"photos, 2024/daisy 1.jpg\",daisy\n",
                        "only one class (daisy); a classifier needs at least two classes")));
        for (Bad b : bad) {
            Path m = dir.resolve(b.name());
            Files.writeString(m, b.text());
            Path config = config("bad", "train: '" + m + "'");
            Path badRun = tmp.resolve("bad-run");
            String e = oneLineError(Cli.run("train", config.toString(), "--run", badRun.toString()));
            assertTrue(e.contains(b.expected()), b.name() + ": " + e);
            assertFalse(Files.exists(badRun), b.name() + ": the run folder was created");

            if (!b.name().equals("one-class.csv")) {
                Path dst = tmp.resolve("bad-processed");
                e = oneLineError(Cli.run("preprocess", m.toString(), dst.toString()));
                assertTrue(e.contains(b.expected()), b.name() + ": " + e);
                assertFalse(Files.exists(dst), b.name() + ": preprocess wrote its destination");

                Map<String, String> before = snapshot(run);
                e = oneLineError(Cli.run("test", run.toString(), "--data", m.toString()));
                assertTrue(e.contains(b.expected()), b.name() + ": " + e);
                assertEquals(before, snapshot(run), b.name() + ": test wrote into the run");
            }
        }

        // a validation set whose labels file names a class the training set does not have
        Path unknown = tmp.resolve("unknown_labels.txt");
        List<String> lines = new ArrayList<>(Files.readAllLines(valLabels));
        int first = 0;
        while (!lines.get(first).endsWith(" rose")) first++;
        lines.set(first, lines.get(first).replace(" rose", " tulip"));
        Files.write(unknown, lines);
        String expected =
                unknown + " line " + (first + 1) + ": label 'tulip' is not among the training classes [daisy, rose]";
        Path config = config("unknown", "train: '" + train + "', val: '" + val + "', val_labels: '" + unknown + "'");
        Path badRun = tmp.resolve("bad-run");
        String e = oneLineError(Cli.run("train", config.toString(), "--run", badRun.toString()));
        assertTrue(e.endsWith(expected), e);
        assertFalse(Files.exists(badRun));
        Map<String, String> before = snapshot(run);
        e = oneLineError(Cli.run("test", run.toString(), "--data", val.toString(), "--labels", unknown.toString()));
        assertTrue(e.endsWith(expected), e);
        e = oneLineError(Cli.run("test", run.toString(), "--labels", valLabels.toString()));
        assertTrue(e.contains("needs the folder of its images: give --data DIR"), e);
        assertEquals(before, snapshot(run));

        // preprocess replaces what is in DST: one that holds the list, or a listed image, is refused
        Map<String, String> data = snapshot(tmp.resolve("data"));
        e = oneLineError(
                Cli.run("preprocess", train.toString(), tmp.resolve("data").toString()));
        assertTrue(e.contains("holds " + train + ", and preprocess replaces it"), e);
        Path elsewhere = Files.createDirectories(tmp.resolve("lists")).resolve("absolute.csv");
        Files.writeString(
                elsewhere,
                "path,label\n\"" + tmp.resolve("data/photos, 2024/daisy 0.jpg") + "\",daisy\n\""
                        + tmp.resolve("data/photos, 2024/rose 1.jpg") + "\",rose\n");
        e = oneLineError(Cli.run(
                "preprocess",
                elsewhere.toString(),
                tmp.resolve("data/photos, 2024").toString()));
        assertTrue(e.contains("holds the listed image " + tmp.resolve("data/photos, 2024/daisy 0.jpg")), e);
        assertEquals(data, snapshot(tmp.resolve("data")));

        // val_labels without val is a config error at its line
        Path noVal = config("noval", "train: '" + train + "', val_labels: '" + valLabels + "'");
        e = oneLineError(Cli.run("train", noVal.toString(), "--run", badRun.toString()));
        assertTrue(e.contains("noval.yaml") && e.contains("val_labels") && e.contains("needs 'val'"), e);
        assertFalse(Files.exists(badRun));
    }
}
