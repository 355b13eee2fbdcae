package convnet.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import convnet.Cli;
import convnet.TestData;
import convnet.data.Preprocess;
import convnet.data.ProcessedDir;
import convnet.engine.Engine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every CSV goes through one writer and reader; class names may hold commas and quotes. */
class CsvTest {
    static final String COMMA = "roses, red", QUOTE = "say \"daisy\"";

    @Test
    void fieldsWithCommasQuotesAndLineBreaksRoundTrip() {
        Csv csv = new Csv("a", "b").row(COMMA, QUOTE).row("two\nlines", 3);
        List<List<String>> rows = Csv.parse(csv.toString(), "t");
        assertEquals(List.of(List.of("a", "b"), List.of(COMMA, QUOTE), List.of("two\nlines", "3")), rows);
        assertEquals(
                "\"roses, red\",\"say \"\"daisy\"\"\"\n",
                new Csv().row(COMMA, QUOTE).toString());
    }

    @Test
    void aStreamingTableShowsEachFlushedRowWhileStillOpen(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("sub/out.csv");
        try (Csv.Streaming t = Csv.Streaming.open(file)) {
            t.row("path", "label").flush();
            assertEquals("path,label\n", Files.readString(file));
            t.row("a.jpg", COMMA).flush();
            assertEquals(
                    List.of(List.of("path", "label"), List.of("a.jpg", COMMA)), Csv.parse(Files.readString(file), "t"));
        }
        Files.createDirectories(tmp.resolve("dir.csv"));
        var e = Assertions.assertThrows(convnet.UserException.class, () -> Csv.Streaming.open(tmp.resolve("dir.csv")));
        assertEquals("cannot write " + tmp.resolve("dir.csv") + ": Is a directory", e.getMessage());
    }

    @Test
    void classNamesWithCommasAndQuotesSurvivePreprocessTrainingAndTest(@TempDir Path tmp) throws Exception {
        Engine.start(2);
        Path src = TestData.subset("flowers5-128", tmp.resolve("src"), 6, "rose", "daisy");
        Files.move(src.resolve("rose"), src.resolve(COMMA));
        Files.move(src.resolve("daisy"), src.resolve(QUOTE));
        Path out = tmp.resolve("out");
        Preprocess.run(
                src, out, new Preprocess.Options(0.34, 32, Preprocess.Mode.STRETCH, 1, "^(.+)$", 2, 90), n -> {});
        ProcessedDir p = ProcessedDir.read(out);
        assertEquals(List.of(COMMA, QUOTE), p.classes);
        assertEquals(8, p.train.size());

        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(
                cfg,
                "name: q\nmodel: {name: preact_resnet20_cifar}\ndata: {train: " + out
                        + ", image_size: 32, batch_size: 4}\ntrain: {epochs: 1}\n");
        Path run = tmp.resolve("run");
        assertEquals(
                0,
                Cli.run("train", cfg.toString(), "--run", run.toString(), "--threads", "2")
                        .code());
        Cli.Out t = Cli.run("test", run.toString());
        assertEquals(0, t.code(), t.stderr());
        List<List<String>> confusion = Csv.parse(Files.readString(run.resolve("test/confusion.csv")), "confusion.csv");
        assertEquals(List.of("true\\predicted", COMMA, QUOTE), confusion.get(0));
        assertEquals(COMMA, confusion.get(1).get(0));
        assertEquals(QUOTE, confusion.get(2).get(0));
        assertEquals(3, confusion.get(1).size());
    }
}
