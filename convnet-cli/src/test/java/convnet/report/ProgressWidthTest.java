package convnet.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TestData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The progress bar on a real pseudo-terminal ({@code script}) of 60, 80 and 200 columns: every redraw fits in the
 * width, so none wraps (a wrapped line is not redrawn by a carriage return and leaves a new line at every redraw).
 */
class ProgressWidthTest {
    @TempDir
    static Path dir;

    static Path data;

    @BeforeAll
    static void data() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "no script(1) for a pseudo-terminal");
        data = TestData.subset("flowers5-128", dir.resolve("data"), 24, "daisy", "rose");
    }

    @ParameterizedTest
    @ValueSource(ints = {60, 80, 200})
    void everyRedrawFitsTheTerminal(int columns) throws Exception {
        Path config = dir.resolve("w" + columns + ".yaml"), run = dir.resolve("run" + columns);
        Files.writeString(
                config,
                "name: w" + columns + "\nseed: 1\nmodel: {name: preact_resnet20_cifar}\ndata: {train: " + data
                        + ", val_split: 0.25, image_size: 32, batch_size: 2, mean: [0.5, 0.5, 0.5],"
                        + " std: [0.2, 0.2, 0.2]}\ntrain: {epochs: 2}\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String inner = "stty cols " + columns + " rows 24; exec " + java
                + " --enable-native-access=ALL-UNNAMED -cp '" + System.getProperty("java.class.path")
                + "' convnet.cli.Main train '" + config + "' --run '" + run + "' --threads 2";
        Path typescript = dir.resolve("typescript" + columns);
        ProcessBuilder pb = new ProcessBuilder("script", "-qec", inner, typescript.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("out" + columns).toFile());
        pb.environment().remove("COLUMNS"); // the width comes from the terminal itself
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        pb.environment().put("LANG", "C.UTF-8");
        Process p = pb.start();
        assertEquals(0, p.waitFor(), Files.readString(dir.resolve("out" + columns)));

        String screen = Files.readString(typescript, StandardCharsets.UTF_8);
        List<String> redraws = new ArrayList<>();
        for (String segment : screen.split("[\r\n]")) {
            String visible = segment.replaceAll("\u001B\\[[0-9;?]*[A-Za-z]", "");
            if (visible.startsWith("epoch ") && visible.contains("img/s")) redraws.add(visible);
        }
        assertTrue(redraws.size() >= 2, "progress redraws on the terminal:\n" + screen);
        for (String r : redraws)
            assertTrue(r.length() < columns, r.length() + " characters on a " + columns + "-column terminal: " + r);
        if (columns >= 200) assertTrue(redraws.get(redraws.size() - 1).contains("left"), "all parts fit in 200");
    }
}
