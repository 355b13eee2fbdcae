package convnet.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.TestData;
import convnet.config.ConfigNode;
import convnet.engine.Engine;
import convnet.run.RunConfig;
import convnet.run.TrainingRun;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact resume: a run killed with SIGKILL at a random moment and resumed ends with weights
 * bitwise-identical to an uninterrupted run, and with one metrics row per epoch.
 */
class KillResumeTest {
    static final int EPOCHS = 4;

    static Process train(Path config, Path run) throws Exception {
        return convnet.Cli.trainProcess(config, run, run.resolveSibling(run.getFileName() + ".out"), "--threads", "2");
    }

    static byte[] finalWeights(Path run) throws Exception {
        String dir = new ObjectMapper()
                .readTree(run.resolve("checkpoints/last.json").toFile())
                .path("dir")
                .asText();
        assertEquals(String.format("epoch-%04d", EPOCHS), dir);
        return Files.readAllBytes(run.resolve("checkpoints").resolve(dir).resolve("model.safetensors"));
    }

    @Test
    void sigkillAtARandomMomentThenResumeIsBitwiseExact(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("data"), 20, "daisy", "rose", "tulip");
        Path config = tmp.resolve("c.yaml");
        // the recipe features that carry state or randomness through a resume are all on
        Files.writeString(
                config,
                config(
                        data,
                        EPOCHS,
                        32,
                        9,
                        "{name: plateau, patience: 0, factor: 0.5}",
                        "[{op: random_resized_crop, size: 32}, {op: hflip}, {op: trivial_augment_wide},"
                                + " {op: random_erasing, p: 0.5, value: random}]",
                        "ema: {decay: 0.9}\n  accumulate: 2\n  mixup: {mixup_alpha: 0.2, cutmix_alpha: 1.0}\n"));
        Path straight = tmp.resolve("straight"), killed = tmp.resolve("killed");
        Process p = train(config, straight);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("straight.out")));

        Random r = new Random();
        int kills = 0;
        int attempts = Integer.getInteger("convnet.kills", 2); // 20 with mvn test -Pfull
        for (int attempt = 0; attempt < attempts; attempt++) {
            Process k = train(config, killed);
            // a random moment: during start-up, a step, a checkpoint write or validation
            Thread.sleep(1500 + r.nextInt(4000));
            if (k.isAlive()) {
                k.destroyForcibly(); // SIGKILL
                kills++;
            }
            k.waitFor(60, TimeUnit.SECONDS);
        }
        Process resume = train(config, killed);
        assertTrue(resume.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, resume.exitValue(), Files.readString(tmp.resolve("killed.out")));
        assertTrue(kills > 0, "the run finished before it could be killed; nothing was tested");

        assertArrayEquals(
                finalWeights(straight), finalWeights(killed), "final weights differ after " + kills + " kills");
        String last = lastDir(straight);
        assertArrayEquals(
                Files.readAllBytes(straight.resolve("checkpoints").resolve(last).resolve("ema.safetensors")),
                Files.readAllBytes(killed.resolve("checkpoints").resolve(last).resolve("ema.safetensors")),
                "the weight average differs after " + kills + " kills");
        List<String> rows = Files.readAllLines(killed.resolve("metrics.csv"));
        assertEquals(EPOCHS + 1, rows.size(), rows.toString());
        for (int e = 1; e <= EPOCHS; e++) assertTrue(rows.get(e).startsWith(e + ","), rows.toString());
        List<String> a = Files.readAllLines(straight.resolve("metrics.csv")), b = rows;
        for (int e = 1; e <= EPOCHS; e++) {
            // same losses and accuracies, epoch by epoch (seconds differ)
            assertEquals(
                    String.join(",", List.of(a.get(e).split(",")).subList(0, 7)),
                    String.join(",", List.of(b.get(e).split(",")).subList(0, 7)));
        }
        assertTrue(new File(killed.toFile(), "model/model.json").isFile());
        // TensorBoard: exactly one val/accuracy point per epoch after all the kills
        Path events;
        try (var s = Files.list(killed)) {
            events = s.filter(f -> f.getFileName().toString().startsWith("events.out.tfevents."))
                    .findFirst()
                    .orElseThrow();
        }
        int points = 0;
        for (byte[] rec : convnet.TfRecords.read(events))
            if (convnet.TfRecords.decodeRaw(rec).contains("\"val/accuracy\"")) points++;
        assertEquals(EPOCHS, points);
    }

    static String config(Path data, int epochs, int size, int batch, String schedule) {
        return config(
                data,
                epochs,
                size,
                batch,
                schedule,
                "[{op: random_resized_crop, size: %d}, {op: hflip}]".formatted(size),
                "");
    }

    static String config(
            Path data, int epochs, int size, int batch, String schedule, String transforms, String trainExtras) {
        return """
                name: stop
                seed: 5
                model:
                  name: vgg11_bn_gap
                  options: {cfg: A, classifier_widths: [32], classifier_dropout: 0.5}
                data:
                  train: %s
                  val_split: 0.25
                  image_size: %d
                  batch_size: %d
                  workers: 2
                  mean: [0.5, 0.5, 0.5]
                  std: [0.25, 0.25, 0.25]
                  train_transforms: %s
                  eval_transforms: [{op: resize, height: %d, width: %d}]
                train:
                  epochs: %d
                  optimizer: {name: sgd, lr: 0.02}
                  schedule: %s
                  %s""".formatted(data, size, batch, transforms, size, size, epochs, schedule, trainExtras);
    }

    static String lastDir(Path run) throws Exception {
        return new ObjectMapper()
                .readTree(run.resolve("checkpoints/last.json").toFile())
                .path("dir")
                .asText();
    }

    static List<String> lossColumns(Path run) throws Exception {
        return Files.readAllLines(run.resolve("metrics.csv")).stream()
                .map(l -> String.join(",", List.of(l.split(",")).subList(0, 7)))
                .toList();
    }

    /** A stop request (what Ctrl-C does) in the middle of an epoch saves that position; the resume carries on from the next batch. */
    @Test
    void stopMidEpochSavesThePositionAndResumesBitwiseExact(@TempDir Path tmp) throws Exception {
        Engine.start(2);
        Path data = TestData.subset("flowers5-128", tmp.resolve("data"), 20, "daisy", "rose", "tulip");
        Path yaml = tmp.resolve("c.yaml");
        Files.writeString(
                yaml,
                config(data, 3, 32, 5, "{name: cosine, warmup_epochs: 1}")); // 45 training images: 9 batches an epoch
        RunConfig rc = RunConfig.from(ConfigNode.load(yaml), tmp);
        Path straight = tmp.resolve("straight"), stopped = tmp.resolve("stopped");
        try (TrainingRun t = TrainingRun.open(rc, straight, TrainingRun.Options.DEFAULT)) {
            t.trainer().fit();
        }
        try (TrainingRun t = TrainingRun.open(rc, stopped, TrainingRun.Options.DEFAULT)) {
            t.trainer().listen(new TrainListener() {
                @Override
                public void onBatchEnd(Trainer tr, BatchEnd b) {
                    if (b.epoch() == 1 && b.batch() == 4) tr.requestStop();
                }
            });
            t.trainer().fit();
            assertTrue(t.trainer().stopped());
        }
        assertEquals("epoch-0001-b000004", lastDir(stopped));
        var state = Checkpoints.verify(stopped.resolve("checkpoints/epoch-0001-b000004"));
        assertEquals(1, state.epoch());
        assertEquals(4, state.batch());
        assertEquals(9 + 4, state.step());
        assertEquals(
                2, Files.readAllLines(stopped.resolve("metrics.csv")).size(), "the unfinished epoch has no row yet");
        try (TrainingRun t = TrainingRun.open(rc, stopped, TrainingRun.Options.DEFAULT)) {
            assertEquals(4, t.trainer().batchInEpoch());
            t.trainer().fit();
        }
        assertEquals("epoch-0003", lastDir(stopped));
        assertArrayEquals(
                Files.readAllBytes(straight.resolve("checkpoints/epoch-0003/model.safetensors")),
                Files.readAllBytes(stopped.resolve("checkpoints/epoch-0003/model.safetensors")));
        assertEquals(
                lossColumns(straight),
                lossColumns(stopped),
                "same losses and accuracies epoch by epoch, the interrupted one included");
    }

    /** SIGINT to the training process: it saves where it is before exiting, and the resumed run ends bitwise-identical. */
    @Test
    void sigintSavesLastBeforeExiting(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("data"), 20, "daisy", "rose", "tulip");
        Path config = tmp.resolve("c.yaml");
        Files.writeString(config, config(data, 3, 64, 3, "{name: cosine, warmup_epochs: 1}")); // 15 batches an epoch
        Path straight = tmp.resolve("straight"), interrupted = tmp.resolve("interrupted");
        Process p = train(config, straight);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("straight.out")));

        Process k = train(config, interrupted);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(interrupted.resolve("checkpoints/last.json"))
                && k.isAlive()
                && System.nanoTime() < deadline) Thread.sleep(20);
        Thread.sleep(new Random().nextInt(400));
        assertTrue(k.isAlive(), "the run finished before it could be interrupted; nothing was tested");
        assertEquals(
                0,
                new ProcessBuilder("kill", "-INT", Long.toString(k.pid()))
                        .start()
                        .waitFor());
        assertTrue(k.waitFor(120, TimeUnit.SECONDS), "the process did not exit after SIGINT");
        String out = Files.readString(tmp.resolve("interrupted.out"));
        String last = lastDir(interrupted);
        assertTrue(last.matches("epoch-000[1-3](-b\\d{6})?"), last);
        if (last.contains("-b")) assertTrue(out.contains("saved ") && out.contains(last), out);
        Checkpoints.verify(interrupted.resolve("checkpoints").resolve(last));

        Process resume = train(config, interrupted);
        assertTrue(resume.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, resume.exitValue(), Files.readString(tmp.resolve("interrupted.out")));
        assertArrayEquals(finalWeights(straight, 3), finalWeights(interrupted, 3));
        assertEquals(lossColumns(straight), lossColumns(interrupted));
    }

    static byte[] finalWeights(Path run, int epochs) throws Exception {
        assertEquals(String.format("epoch-%04d", epochs), lastDir(run));
        return Files.readAllBytes(
                run.resolve("checkpoints").resolve(lastDir(run)).resolve("model.safetensors"));
    }
}
