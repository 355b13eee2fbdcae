package convnet.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.Cli;
import convnet.TestData;
import convnet.engine.Precision;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench --only recipe}: trains a config for the asked epochs and appends one time-to-accuracy row. */
class RecipeBenchTest {
    @Test
    void trainsTheRecipeAndAppendsARow(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("data"), 6, "daisy", "rose");
        Path config = tmp.resolve("tiny.yaml");
        Files.writeString(
                config,
                "name: tiny\nseed: 1\nmodel: {name: preact_resnet20_cifar}\ndata: {train: " + data
                        + ", image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\n"
                        + "train: {epochs: 5, ema: {decay: 0.5}}\n");
        Path table = tmp.resolve("table.md"), run = tmp.resolve("run");
        for (int i = 0; i < 2; i++) {
            Cli.Out o = Cli.run(
                    "bench",
                    "--only",
                    "recipe",
                    "--config",
                    config.toString(),
                    "--epochs",
                    "1",
                    "--run",
                    run.toString(),
                    "--flip",
                    "--table",
                    table.toString(),
                    "--threads",
                    "2");
            assertEquals(0, o.code(), o.stderr());
        }
        List<String> lines = Files.readAllLines(table);
        assertEquals(4, lines.size(), "one header (two lines) and a row for each run: " + lines);
        String[] cells = lines.get(3).split("\\|");
        assertEquals("tiny.yaml", cells[2].trim());
        assertEquals("1", cells[4].trim(), "the --epochs given, not the config's 5");
        for (int c : new int[] {6, 7, 8, 9}) assertTrue(cells[c].trim().matches("\\d+\\.\\d\\d %"), cells[c]);
        String auto = Precision.choose("auto", Precision.cpuFlags()).precision().word;
        assertTrue(cells[11].contains(auto), "the precision auto chose on this CPU, " + auto + ": " + cells[11]);
        assertEquals(2, Files.readAllLines(run.resolve("metrics.csv")).size(), "the run was started afresh");
    }

    @Test
    void recipeWithoutAConfigIsAUserError() {
        Cli.Out o = Cli.run("bench", "--only", "recipe");
        assertEquals(2, o.code());
        assertTrue(o.stderr().contains("--config"), o.stderr());
    }
}
