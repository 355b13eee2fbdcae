package convnet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TestData;
import convnet.weights.Safetensors;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two processes on 127.0.0.1 with Gloo end with the weights of one process trained on the combined batch. */
class DistributedTest {
    static Process train(Path config, Path run, String... extra) throws Exception {
        Path log = run.resolveSibling(
                run.getFileName() + "-" + String.join("", extra).replaceAll("[^a-z0-9]", "") + ".out");
        List<String> args = new ArrayList<>(List.of("--threads", "1"));
        args.addAll(List.of(extra));
        return convnet.Cli.trainProcess(config, run, log, args.toArray(new String[0]));
    }

    static float[] weights(Path run, int epochs) throws Exception {
        Map<String, Safetensors.Entry> e =
                Safetensors.read(run.resolve(String.format("checkpoints/epoch-%04d/model.safetensors", epochs)));
        List<Float> all = new ArrayList<>();
        for (Safetensors.Entry t : e.values()) {
            if (!t.dtype().equals("F32")) continue;
            ByteBuffer b = ByteBuffer.wrap(t.data()).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) all.add(b.getFloat());
        }
        float[] out = new float[all.size()];
        for (int i = 0; i < out.length; i++) out[i] = all.get(i);
        return out;
    }

    @Test
    void twoGlooProcessesMatchOneProcessOnTheCombinedBatch(@TempDir Path tmp) throws Exception {
        compare(tmp, "32", 1e-5, 12, 3);
    }

    /** float16 autocast with loss scaling across processes: each unscales the averaged gradients, so all skip or step together. */
    @Test
    void mixedPrecisionWorksAcrossProcesses(@TempDir Path tmp) throws Exception {
        // float16 rounding of a 4-image and an 8-image reduction differ slightly; float16 convolutions are slow on CPUs
        // without AVX-512 FP16, hence fewer images and epochs
        compare(tmp, "16-mixed", 2e-3, 8, 2);
    }

    static void compare(Path tmp, String precision, double tolerance, int perClass, int epochs) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("data"), perClass, "daisy", "rose", "tulip");
        Path config = tmp.resolve("c.yaml");
        // no BatchNorm (its statistics are per process) and no dropout: the two set-ups compute the same thing
        Files.writeString(config, """
                name: ddp
                seed: 4
                model:
                  name: vgg11_bn_gap
                  options: {batch_norm: false, classifier_widths: [16], classifier_dropout: 0}
                data:
                  train: %s
                  val_split: 0.25
                  image_size: 32
                  batch_size: 8
                  workers: 1
                  mean: [0.5, 0.5, 0.5]
                  std: [0.25, 0.25, 0.25]
                  train_transforms: [{op: random_resized_crop, size: 32}, {op: hflip}]
                  eval_transforms: [{op: resize, height: 32, width: 32}]
                train:
                  epochs: %d
                  optimizer: {name: sgd, lr: 0.05, weight_decay: 0.0005}
                  channels_last: false
                  precision: "%s"
                """.formatted(data, epochs, precision));
        Process single = train(config, tmp.resolve("single"));
        assertTrue(single.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, single.exitValue());
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String master = "127.0.0.1:" + port;
        Process r0 = train(config, tmp.resolve("multi"), "--world-size", "2", "--rank", "0", "--master", master);
        Process r1 = train(config, tmp.resolve("multi"), "--world-size", "2", "--rank", "1", "--master", master);
        assertTrue(r0.waitFor(300, TimeUnit.SECONDS) && r1.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, r0.exitValue());
        assertEquals(0, r1.exitValue());
        float[] a = weights(tmp.resolve("single"), epochs), b = weights(tmp.resolve("multi"), epochs);
        assertEquals(a.length, b.length);
        double maxDiff = 0;
        for (int i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        assertTrue(maxDiff < tolerance, precision + ": max |single − two processes| = " + maxDiff);
        // and training did move the weights (the comparison is not between two untouched initialisations)
        List<String> rows = Files.readAllLines(tmp.resolve("single/metrics.csv"));
        List<String> rowsMulti = Files.readAllLines(tmp.resolve("multi/metrics.csv"));
        assertEquals(rows.size(), rowsMulti.size());
        double lossSingle = Double.parseDouble(rows.get(epochs).split(",")[2]),
                lossMulti = Double.parseDouble(rowsMulti.get(epochs).split(",")[2]);
        assertEquals(lossSingle, lossMulti, tolerance * 10, "the reported training loss is the whole batch's");
        assertTrue(!rows.get(1).split(",")[2].equals(rows.get(epochs).split(",")[2]), "the loss changed over training");
    }
}
