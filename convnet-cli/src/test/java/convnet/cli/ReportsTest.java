package convnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.Cli;
import convnet.TinyRun;
import convnet.io.Csv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code test} reports per class (console table, --json, RUN/test/report.csv, all agreeing with the confusion
 * matrix), and {@code predict --csv}, on a real tiny run.
 */
class ReportsTest {
    @TempDir
    static Path tmp;

    static TinyRun run;
    static final List<String> CLASSES = List.of("daisy", "rose");

    @BeforeAll
    static void train() throws Exception {
        run = TinyRun.train(tmp, "reports", 6);
    }

    @Test
    void testReportsPrecisionRecallF1AndSupportEverywhere() throws Exception {
        Cli.Out o = Cli.run("test", run.run().toString(), "--data", run.data().toString(), "--json", "--threads", "2");
        assertEquals(0, o.code(), o.stderr());
        JsonNode j = new ObjectMapper().readTree(o.stdout());
        assertEquals(12, j.path("images").asInt());
        long[][] cm = new long[2][2];
        for (int t = 0; t < 2; t++)
            for (int p = 0; p < 2; p++)
                cm[t][p] = j.path("confusion").get(t).get(p).asLong();
        // the figures, worked out here from the matrix the command printed
        double macroF1 = 0, weightedF1 = 0;
        for (int c = 0; c < 2; c++) {
            long tp = cm[c][c], support = cm[c][0] + cm[c][1], predicted = cm[0][c] + cm[1][c];
            double p = predicted == 0 ? 0 : (double) tp / predicted, r = (double) tp / support;
            double f1 = p + r == 0 ? 0 : 2 * p * r / (p + r);
            JsonNode s = j.path("per_class_report").path(CLASSES.get(c));
            assertEquals(6, support);
            assertEquals(support, s.path("support").asLong());
            assertEquals(p, s.path("precision").asDouble(), 1e-12, CLASSES.get(c));
            assertEquals(r, s.path("recall").asDouble(), 1e-12, CLASSES.get(c));
            assertEquals(f1, s.path("f1").asDouble(), 1e-12, CLASSES.get(c));
            assertEquals(r, j.path("per_class").path(CLASSES.get(c)).asDouble(), 1e-12, "per-class accuracy");
            macroF1 += f1 / 2;
            weightedF1 += f1 * support / 12;
        }
        assertEquals(macroF1, j.path("macro_avg").path("f1").asDouble(), 1e-12);
        assertEquals(weightedF1, j.path("weighted_avg").path("f1").asDouble(), 1e-12);
        assertEquals(
                j.path("top1").asDouble(), j.path("weighted_avg").path("recall").asDouble(), 1e-12);
        assertEquals(12, j.path("weighted_avg").path("support").asLong());
        assertEquals(1.0, j.path("top5").asDouble(), 1e-12, "two classes: top-5 is always right");

        // RUN/test/report.csv: the same figures, written atomically (no temporary file left)
        Path report = run.run().resolve("test/report.csv");
        assertEquals(report.toString(), j.path("report_csv").asText());
        List<List<String>> rows = Csv.parse(Files.readString(report), report.toString());
        assertEquals(List.of("class", "precision", "recall", "f1", "support"), rows.get(0));
        assertEquals(5, rows.size(), rows.toString());
        List<String> names = List.of("daisy", "rose", "macro avg", "weighted avg");
        for (int i = 0; i < 4; i++) {
            List<String> row = rows.get(i + 1);
            assertEquals(names.get(i), row.get(0));
            JsonNode s = i < 2
                    ? j.path("per_class_report").path(names.get(i))
                    : j.path(i == 2 ? "macro_avg" : "weighted_avg");
            assertEquals(s.path("precision").asDouble(), Double.parseDouble(row.get(1)), 1e-6, row.toString());
            assertEquals(s.path("recall").asDouble(), Double.parseDouble(row.get(2)), 1e-6, row.toString());
            assertEquals(s.path("f1").asDouble(), Double.parseDouble(row.get(3)), 1e-6, row.toString());
            assertEquals(s.path("support").asLong(), Long.parseLong(row.get(4)));
        }
        try (Stream<Path> s = Files.list(run.run().resolve("test"))) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }

        // the console: the same table, figures to four places
        Cli.Out c = Cli.run("test", run.run().toString(), "--data", run.data().toString(), "--threads", "2");
        assertEquals(0, c.code(), c.stderr());
        List<String> lines = c.stdout().lines().toList();
        assertTrue(lines.get(0).contains("top-1 ") && lines.get(0).contains("top-5 "), lines.get(0));
        assertEquals(
                List.of("class", "precision", "recall", "f1", "support"),
                List.of(lines.get(1).split("\\s+")));
        for (int i = 0; i < 4; i++) {
            String line = lines.get(i + 2);
            assertTrue(line.startsWith(names.get(i) + " "), line);
            JsonNode s = i < 2
                    ? j.path("per_class_report").path(names.get(i))
                    : j.path(i == 2 ? "macro_avg" : "weighted_avg");
            String[] f = line.substring(names.get(i).length()).trim().split("\\s+");
            assertEquals(String.format(Locale.ROOT, "%.4f", s.path("precision").asDouble()), f[0], line);
            assertEquals(String.format(Locale.ROOT, "%.4f", s.path("recall").asDouble()), f[1], line);
            assertEquals(String.format(Locale.ROOT, "%.4f", s.path("f1").asDouble()), f[2], line);
            assertEquals(s.path("support").asText(), f[3], line);
        }
        assertTrue(lines.get(6).startsWith("report: " + report), lines.get(6));
    }

    @Test
    void predictCsvHasOneRowPerFileWithTheTopKAndTheErrors() throws Exception {
        Path bad = tmp.resolve("inputs/broken.jpg");
        Files.createDirectories(bad.getParent());
        Files.writeString(bad, "<html>not a photo</html>");
        Path csv = tmp.resolve("out/predictions.csv");
        Cli.Out o = Cli.run(
                "predict",
                run.run().toString(),
                run.data().toString(),
                bad.toString(),
                "--csv",
                csv.toString(),
                "--top-k",
                "5",
                "--batch",
                "4",
                "--threads",
                "2");
        assertEquals(2, o.code(), "an unreadable file makes the exit code 2: " + o.stderr());
        assertTrue(o.stderr().contains("broken.jpg"), o.stderr());
        assertEquals(
                "12 images predicted into " + csv + "; 1 could not be read (their rows give the error)",
                o.stdout().trim());
        List<List<String>> rows = Csv.parse(Files.readString(csv), csv.toString());
        // --top-k 5 of two classes: two label/probability pairs
        assertEquals(List.of("path", "label", "probability", "label_2", "probability_2", "error"), rows.get(0));
        assertEquals(14, rows.size(), "header, 12 photos and the broken file");
        Cli.Out jo = Cli.run(
                "predict", run.run().toString(), run.data().toString(), bad.toString(), "--json", "--top-k", "2");
        JsonNode preds = new ObjectMapper().readTree(jo.stdout()).path("predictions");
        List<String> paths = new ArrayList<>();
        for (int i = 1; i < rows.size(); i++) {
            List<String> row = rows.get(i);
            assertEquals(6, row.size(), row.toString());
            JsonNode p = preds.get(i - 1);
            assertEquals(p.path("file").asText(), row.get(0), "the order of the JSON document");
            paths.add(row.get(0));
            if (row.get(0).equals(bad.toString())) {
                assertEquals(List.of("", "", "", ""), row.subList(1, 5));
                assertEquals(p.path("error").asText(), row.get(5));
                continue;
            }
            assertTrue(CLASSES.contains(row.get(1)) && CLASSES.contains(row.get(3)), row.toString());
            double p1 = Double.parseDouble(row.get(2)), p2 = Double.parseDouble(row.get(4));
            assertTrue(p1 >= p2, row.toString());
            assertEquals(1.0, p1 + p2, 1e-5, row.toString());
            assertEquals(p.path("top").get(0).path("label").asText(), row.get(1));
            assertEquals(p.path("top").get(0).path("probability").asDouble(), p1, 1e-6);
            assertEquals("", row.get(5));
        }
        assertTrue(paths.contains(bad.toString()));

        // --top-k 1: path, label, probability, error; a CSV that cannot be written fails before the model loads
        Cli.Out one = Cli.run(
                "predict",
                run.run().toString(),
                run.data().resolve("rose").toString(),
                "--csv",
                csv.toString(),
                "--top-k",
                "1");
        assertEquals(0, one.code(), one.stderr());
        assertEquals("path,label,probability,error", Files.readAllLines(csv).get(0));
        assertEquals(7, Files.readAllLines(csv).size());
        Cli.Out dir = Cli.run("predict", run.run().toString(), bad.toString(), "--csv", tmp.toString());
        assertEquals(2, dir.code());
        assertEquals(
                "error: cannot write " + tmp + ": Is a directory", dir.stderr().trim());
    }
}
