package convnet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.config.ConfigNode;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.run.RunConfig;
import convnet.run.TrainingRun;
import convnet.weights.Safetensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints written before the components kept their own state ({@code state.json} with positional arrays,
 * format 1) still resume exactly. The fixture {@code format1-run} was made by the code of that time: a tiny
 * run (fp16 loss scaling, plateau schedule, early stopping, EMA, gradient accumulation, mixup) stopped at
 * epoch 2, batch 4; its checkpoints are that mid-epoch one and the one of epoch 1's end. The figures below are
 * what that code printed after resuming from them (the same as its uninterrupted run).
 */
class CheckpointFormatTest {
    static final Path FIXTURE = Path.of("convnet-core/src/test/resources/convnet/train/format1-run");

    /** Train loss, val loss and EMA val loss of epochs 2 and 3, with every digit the old code printed. */
    static final List<String> LOSSES = List.of(
            "2 1.0971428751945496 1.0916258295377095 1.0923571123017206",
            "3 1.110466758410136 1.0887587666511536 1.0896849830945332");

    static final List<String> ROWS = List.of(
            "epoch,lr,train_loss,train_acc,val_loss,val_acc,val_top5,step,ema_val_loss,ema_val_acc",
            "1,0.0500000,1.120173,0.250000,1.094578,0.333333,1.000000,3,1.095076,0.333333",
            "2,0.0500000,1.097143,0.291667,1.091626,0.333333,1.000000,6,1.092357,0.333333",
            "3,0.0250000,1.110467,0.291667,1.088759,0.333333,1.000000,9,1.089685,0.333333");

    static final String MODEL_SHA256 = "7659a9b8e967455052f1a3ed17de3acab68c1ae8f661f16be05b2bbc1404f8e8",
            EMA_SHA256 = "190548e63fad47f973b76ea8378a08ac66bf4842943825ba8cf230a0a20e52aa";

    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    static String config(Path data) {
        return """
                name: fixture
                seed: 7
                model:
                  name: preact_resnet20_cifar
                  options: {stem_channels: 8, stages: [[8, 1], [16, 1]]}
                data:
                  train: %s
                  val_split: 0.25
                  image_size: 24
                  batch_size: 4
                  workers: 1
                  mean: [0.5, 0.5, 0.5]
                  std: [0.25, 0.25, 0.25]
                  train_transforms: [{op: random_resized_crop, size: 24}, {op: hflip}]
                  eval_transforms: [{op: resize, height: 24, width: 24}]
                train:
                  epochs: 3
                  optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
                  schedule: {name: plateau, patience: 0, factor: 0.5}
                  precision: 16-mixed
                  ema: {decay: 0.9}
                  early_stopping: {patience: 5}
                  accumulate: 2
                  mixup: {mixup_alpha: 0.2, cutmix_alpha: 1.0}
                """.formatted(data);
    }

    /** The fixture's data: the first 12 images of three classes of the project's samples/flowers. */
    static RunConfig setUp(Path tmp) throws Exception {
        Path data = tmp.resolve("data");
        for (String c : new String[] {"daisy", "rose", "tulip"}) {
            Files.createDirectories(data.resolve(c));
            try (Stream<Path> s = Files.list(Path.of("samples/flowers").resolve(c))) {
                for (Path p : s.sorted().limit(12).toList())
                    Files.copy(p, data.resolve(c).resolve(p.getFileName()));
            }
        }
        copyTree(FIXTURE, tmp.resolve("run"));
        Path yaml = tmp.resolve("c.yaml");
        Files.writeString(yaml, config(data));
        return RunConfig.from(ConfigNode.load(yaml), tmp);
    }

    static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path q = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(q);
                else Files.copy(p, q);
            }
        }
    }

    static TrainListener recorder(List<String> into) {
        return new TrainListener() {
            @Override
            public void onEpochEnd(Trainer t, EpochStats s) {
                into.add(s.epoch() + " " + s.trainLoss() + " " + s.valLoss() + " " + s.emaValLoss());
            }
        };
    }

    /**
     * The state of each part after resuming from the mid-epoch checkpoint: what its format-1 {@code state.json}
     * holds, by key ({@code partial}, {@code scaler}, {@code schedule}, {@code early_stopping}, {@code ema_updates},
     * {@code best_metric} and {@code best_epoch} there).
     */
    static final Map<String, Map<String, Object>> MID_EPOCH = Map.of(
            "progress",
                    Map.of(
                            "loss_sum",
                            17.43840742111206,
                            "correct",
                            5.0,
                            "seen",
                            16,
                            "skipped",
                            0,
                            "seconds",
                            1.869990779),
            "schedule", Map.of("lr", 0.05, "best", 0.3333333333333333, "bad_epochs", 0, "cooldown_left", 0),
            "loss_scaler", Map.of("scale", 65536.0, "good_steps", 5, "skipped", 0L),
            "early_stopping", Map.of("best", 1.0945776568518744, "best_epoch", 1, "bad_epochs", 0, "stopped_after", 0),
            "ema", Map.of("updates", 5L),
            "best", Map.of("metric", 0.3333333333333333, "epoch", 1));

    /** Resumes {@code run} (from {@code which}, or its newest checkpoint) to the end; checks it ends as the old code did. */
    static void resumesAsBefore(
            RunConfig rc,
            Path run,
            String which,
            int epoch,
            long step,
            int batch,
            Map<String, Map<String, Object>> parts)
            throws Exception {
        List<String> losses = new ArrayList<>();
        var options = new TrainingRun.Options(false, which, false, null, d -> {});
        try (TrainingRun t = TrainingRun.open(rc, run, options)) {
            Trainer tr = t.trainer();
            assertEquals(epoch, tr.epoch());
            assertEquals(step, tr.step());
            assertEquals(batch, tr.batchInEpoch());
            Map<String, Map<String, Object>> restored = new TreeMap<>();
            for (Stateful p : tr.components()) if (p.state() != null) restored.put(p.stateKey(), p.state());
            if (parts != null) assertEquals(new TreeMap<>(parts), restored);
            // the average of the weights is the fixture's, bit for bit
            Path ckpt = which != null ? Path.of(which) : new Checkpoints(run.resolve("checkpoints")).resolve("last");
            Map<String, Tensor> saved = new LinkedHashMap<>();
            for (var e : tr.ema().tensors().entrySet())
                saved.put(e.getKey(), e.getValue().clone());
            Safetensors.load(ckpt.resolve("ema.safetensors"), saved);
            for (var e : saved.entrySet())
                assertTrue(e.getValue().equal(tr.ema().tensors().get(e.getKey())), e.getKey());
            tr.listen(recorder(losses));
            tr.fit();
        }
        var written = new ObjectMapper()
                .readTree(run.resolve("checkpoints/epoch-0003/state.json").toFile());
        assertEquals(Checkpoints.FORMAT, written.path("format").asInt(), "what the new code writes is format 2");
        for (String key : List.of("best", "schedule", "loss_scaler", "early_stopping", "ema"))
            assertTrue(written.path("components").has(key), key + " in " + written);
        List<String> rows = Files.readAllLines(run.resolve("metrics.csv")).stream()
                .map(l -> {
                    List<String> cells = new ArrayList<>(List.of(l.split(",")));
                    cells.remove(7); // seconds
                    return String.join(",", cells);
                })
                .toList();
        assertEquals(ROWS, rows);
        // every digit, and the weights bit for bit, where the kernels are those that made the fixture
        Assumptions.assumeTrue(
                Precision.cpuFlags().contains("avx512_bf16"),
                "the fixture's full-digit figures were made on an AVX-512 (bf16) CPU; oneDNN's kernels differ elsewhere");
        assertEquals(LOSSES, losses);
        assertEquals(MODEL_SHA256, Checkpoints.sha256(run.resolve("checkpoints/epoch-0003/model.safetensors")));
        assertEquals(EMA_SHA256, Checkpoints.sha256(run.resolve("checkpoints/epoch-0003/ema.safetensors")));
    }

    @Test
    void aFormat1MidEpochCheckpointResumesExactly(@TempDir Path tmp) throws Exception {
        RunConfig rc = setUp(tmp);
        resumesAsBefore(rc, tmp.resolve("run"), null, 1, 5, 4, MID_EPOCH);
    }

    @Test
    void aFormat1EpochEndCheckpointResumesExactly(@TempDir Path tmp) throws Exception {
        RunConfig rc = setUp(tmp);
        Path ckpt = tmp.resolve("run/checkpoints/epoch-0001");
        resumesAsBefore(rc, tmp.resolve("run"), ckpt.toString(), 1, 3, 0, null);
    }
}
