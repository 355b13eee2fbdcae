package convnet.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.Cli;
import convnet.TestData;
import convnet.TfRecords;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run killed after its last checkpoint but before TensorBoard and the plots were redrawn (found by the
 * SIGKILL test): started again, it has no epoch left to train, and the reports still catch up with metrics.csv.
 */
class CatchUpTest {
    @Test
    void aFinishedRunStartedAgainRedrawsItsReports(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 6, "daisy", "rose");
        Path cfg = tmp.resolve("c.yaml");
        Files.writeString(
                cfg,
                "name: c\nmodel: {name: preact_resnet20_cifar}\ndata: {train: " + data
                        + ", image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\ntrain: {epochs: 2}\n");
        Path run = tmp.resolve("run");
        assertEquals(
                0,
                Cli.run("train", cfg.toString(), "--run", run.toString(), "--threads", "2")
                        .code());
        Path events;
        try (var s = Files.list(run)) {
            events = s.filter(f -> f.getFileName().toString().startsWith("events.out.tfevents."))
                    .findFirst()
                    .orElseThrow();
        }
        // as if killed after epoch 2's checkpoint: the reports still show epoch 1 only, or nothing
        Files.write(events, new byte[0]);
        Files.delete(run.resolve("plots/loss.png"));
        Cli.Out again = Cli.run("train", cfg.toString(), "--run", run.toString(), "--threads", "2");
        assertEquals(0, again.code(), again.stderr());
        int points = 0;
        for (byte[] rec : TfRecords.read(events)) if (TfRecords.decodeRaw(rec).contains("\"val/accuracy\"")) points++;
        assertEquals(2, points);
        assertTrue(Files.size(run.resolve("plots/loss.png")) > 0);
    }
}
