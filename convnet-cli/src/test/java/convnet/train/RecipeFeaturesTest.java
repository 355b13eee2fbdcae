package convnet.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.Cli;
import convnet.TestData;
import convnet.config.ConfigNode;
import convnet.data.Loader;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.Arch;
import convnet.model.ModelSpec;
import convnet.model.Models;
import convnet.model.Net;
import convnet.model.PreActResNet;
import convnet.run.RunConfig;
import convnet.run.TrainingRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mixup/CutMix, gradient clipping, early stopping and zero-initialised residual branches. */
class RecipeFeaturesTest {
    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    static float[] randomImages(int n, int h, int w, long seed) {
        float[] x = new float[n * 3 * h * w];
        Random r = new Random(seed);
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        return x;
    }

    @Test
    void mixupMixesImagesWithTheSampledLambdaAndCutmixPastesABox() {
        int n = 6, h = 8, w = 8, image = 3 * h * w;
        float[] x = randomImages(n, h, w, 1);
        Mixing.Mixed m = new Mixing(0.4, 0, 1, 0).apply(x, n, h, w, new Random(7));
        assertTrue(m.lambda() > 0 && m.lambda() < 1, "λ = " + m.lambda());
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < image; k++) {
                float want = (float) m.lambda() * x[i * image + k]
                        + (float) (1 - m.lambda()) * x[m.partner()[i] * image + k];
                assertEquals(want, m.images()[i * image + k], 1e-6f);
            }
        }
        assertTrue(Arrays.stream(m.partner()).distinct().count() == n, "a permutation");
        Mixing.Mixed c = new Mixing(0, 1.0, 1, 1).apply(x, n, h, w, new Random(3));
        int fromPartner = 0;
        for (int k = 0; k < image; k++) if (c.images()[k] != x[k]) fromPartner++;
        if (c.partner()[0] != 0)
            assertEquals(1 - c.lambda(), fromPartner / (double) image, 1e-9, "λ is the share left uncovered");
        assertEquals(
                null, new Mixing(0.4, 0, 0, 0).apply(x, n, h, w, new Random(1)), "prob 0: the batch is left as it is");
        double mean = 0;
        Random r = new Random(5);
        for (int i = 0; i < 4000; i++) mean += Mixing.beta(0.4, r);
        assertEquals(0.5, mean / 4000, 0.03, "Beta(α, α) has mean 1/2");
    }

    @Test
    void clippingBoundsTheGradientNorm() {
        Net net = Models.create("preact_resnet20_cifar", 5);
        float[] x = randomImages(4, 32, 32, 2);
        Loader.Batch b = new Loader.Batch(x, new long[] {0, 1, 2, 3}, 4, 32, 32, 0);
        OptimizerConfig o = new OptimizerConfig("sgd", 1.0, 0, false, 0, 0.9, 0.999);
        Trainer t = new Trainer(
                net,
                Optimizers.create(o, net),
                null,
                null,
                Trainer.Options.of(Precision.FP32, new Schedule(new ScheduleConfig.Constant(0), 1.0, 1), 1)
                        .withClipGradNorm(1e-3));
        List<Tensor> before = new ArrayList<>();
        var ps = net.parameters();
        for (long i = 0; i < ps.size(); i++) before.add(ps.get(i).clone());
        t.step(b);
        double sq = Scoped.call(() -> {
            double s = 0;
            for (long i = 0; i < ps.size(); i++)
                s += ps.get(i).sub(before.get((int) i)).pow(new Scalar(2)).sum().item_double();
            return s;
        });
        assertTrue(
                Math.sqrt(sq) <= 1e-3 * 1.0001,
                "plain SGD at lr 1 moves the weights by the clipped gradient: " + Math.sqrt(sq));
        assertTrue(Math.sqrt(sq) > 1e-4, "and it did move them");
    }

    @Test
    void zeroInitialisedBranchesMakeEveryUnitStartAsTheIdentity() {
        Net net = Models.create("preact_resnet20_cifar", 5);
        assertEquals(9, PreActResNet.zeroLastInResidualBranches(net), "nine units in ResNet-20");
        assertEquals(0, PreActResNet.zeroLastInResidualBranches(Models.create("vgg11_bn_gap", 5)), "a VGG has none");
        var params = net.named_parameters(true);
        int zeroed = 0;
        for (long i = 0; i < params.size(); i++) {
            String name = params.get(i).key().getString();
            Tensor w = new Tensor(params.get(i).value());
            double absSum = Scoped.call(() -> w.abs().sum().item_double());
            if (name.matches("layer\\d+\\.\\d+\\.conv2\\.weight")) {
                assertEquals(0, absSum, name);
                zeroed++;
            } else if (name.endsWith("conv1.weight")) {
                assertTrue(absSum > 0, name + " keeps its initialisation");
            }
        }
        assertEquals(9, zeroed);
    }

    static Path config(Path dir, Path data, String train) throws Exception {
        Path cfg = dir.resolve("c.yaml");
        Files.writeString(
                cfg,
                "name: f\nseed: 3\nmodel: {name: preact_resnet20_cifar, init: {zero_last: true}}\ndata: {train: " + data
                        + ", image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\ntrain: "
                        + train + "\n");
        return cfg;
    }

    @Test
    void earlyStoppingStopsAtTheExpectedEpochAndStaysStopped(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 6, "daisy", "rose");
        // no epoch can improve train_loss by more than 100: epoch 1 sets the best, 2 and 3 do not improve, patience 1 →
        // stop after 3
        Path cfg = config(tmp, data, "{epochs: 6, early_stopping: {monitor: train_loss, patience: 1, min_delta: 100}}");
        Path run = tmp.resolve("run");
        Cli.Out o = Cli.run("train", cfg.toString(), "--run", run.toString(), "--threads", "2");
        assertEquals(0, o.code(), o.stderr());
        assertTrue(
                o.stderr()
                        .contains(
                                "early stopping after epoch 3: train_loss did not improve by more than 100.0 for 2 epochs"),
                o.stderr());
        assertEquals(4, Files.readAllLines(run.resolve("metrics.csv")).size(), "three epochs");
        var state = new ObjectMapper()
                .readTree(run.resolve("checkpoints/epoch-0003/state.json").toFile());
        assertEquals(
                3,
                state.path("components")
                        .path("early_stopping")
                        .path("stopped_after")
                        .asInt(),
                "the checkpoint holds the decision");
        Cli.Out again = Cli.run("train", cfg.toString(), "--run", run.toString(), "--threads", "2");
        assertEquals(0, again.code(), again.stderr());
        assertEquals(4, Files.readAllLines(run.resolve("metrics.csv")).size(), "resumed, it stays stopped");
        assertTrue(again.stderr().contains("early stopping after epoch 3"), again.stderr());
    }

    /** {@code convnet test --ema} scores a checkpoint's average of the weights: what training logged for it. */
    @Test
    void testingTheAverageGivesWhatTrainingLoggedForIt(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 10, "daisy", "rose", "tulip");
        // fp32: under bf16 (precision auto on a CPU with avx512_bf16) the loss of the same weights moves in its
        // fourth digit with the batch shapes, and this compares two evaluations of the same weights
        Path cfg =
                config(tmp, data, "{epochs: 2, precision: '32', optimizer: {name: sgd, lr: 0.05}, ema: {decay: 0.9}}");
        Path run = tmp.resolve("run");
        Cli.Out o = Cli.run("train", cfg.toString(), "--run", run.toString(), "--threads", "2");
        assertEquals(0, o.code(), o.stderr());
        List<String> header =
                List.of(Files.readAllLines(run.resolve("metrics.csv")).get(0).split(","));
        String[] last = Files.readAllLines(run.resolve("metrics.csv")).get(2).split(",");
        ObjectMapper json = new ObjectMapper();
        Cli.Out e = Cli.run("test", run.toString(), "--ema", "--json", "--threads", "2");
        assertEquals(0, e.code(), e.stderr());
        var ema = json.readTree(e.stdout());
        assertEquals("ema of last", ema.path("weights").asText());
        assertEquals(
                Double.parseDouble(last[header.indexOf("ema_val_acc")]),
                ema.path("top1").asDouble(),
                1e-6); // metrics.csv keeps six digits
        assertEquals(
                Double.parseDouble(last[header.indexOf("ema_val_loss")]),
                ema.path("loss").asDouble(),
                1e-4);
        Cli.Out r = Cli.run("test", run.toString(), "--checkpoint", "last", "--json", "--threads", "2");
        assertEquals(0, r.code(), r.stderr());
        var raw = json.readTree(r.stdout());
        assertEquals(
                Double.parseDouble(last[header.indexOf("val_loss")]),
                raw.path("loss").asDouble(),
                1e-4);
        assertTrue(
                Math.abs(raw.path("loss").asDouble() - ema.path("loss").asDouble()) > 1e-3,
                "the average is not the raw weights: " + raw.path("loss") + " vs " + ema.path("loss"));

        Path plainCfg = config(tmp, data, "{epochs: 1, optimizer: {name: sgd, lr: 0.05}}");
        Path plain = tmp.resolve("plain");
        assertEquals(
                0,
                Cli.run("train", plainCfg.toString(), "--run", plain.toString(), "--threads", "2")
                        .code());
        Cli.Out none = Cli.run("test", plain.toString(), "--ema");
        assertEquals(2, none.code(), none.stderr());
        assertTrue(none.stderr().contains("epoch-0001: the checkpoint holds no average of the weights"), none.stderr());
    }

    /** A stop mid-epoch and a resume, with mixup, cutmix, clipping and accumulation on: bitwise the same as an uninterrupted run. */
    @Test
    void mixedRunsResumeBitwiseExactly(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 10, "daisy", "rose", "tulip");
        Path cfg = config(
                tmp,
                data,
                "{epochs: 2, optimizer: {name: sgd, lr: 0.02}, clip_grad_norm: 1.0, accumulate: 2, ema: {decay: 0.9}, best_metric: ema_val_acc, "
                        + "mixup: {mixup_alpha: 0.2, cutmix_alpha: 1.0, prob: 0.8, switch_prob: 0.5}}");
        RunConfig rc = RunConfig.from(ConfigNode.load(cfg), tmp);
        Path straight = tmp.resolve("straight"), stopped = tmp.resolve("stopped");
        try (TrainingRun t = TrainingRun.open(rc, straight, TrainingRun.Options.DEFAULT)) {
            t.trainer().fit();
        }
        try (TrainingRun t = TrainingRun.open(rc, stopped, TrainingRun.Options.DEFAULT)) {
            t.trainer().listen(new TrainListener() {
                @Override
                public void onBatchEnd(Trainer tr, BatchEnd b) {
                    if (b.epoch() == 1 && b.batch() == 3)
                        tr.requestStop(); // mid-group: the stop waits for the group to end (batch 4)
                }
            });
            t.trainer().fit();
        }
        List<String> folders;
        try (var list = Files.list(stopped.resolve("checkpoints"))) {
            folders = list.map(f -> f.getFileName().toString()).sorted().toList();
        }
        assertTrue(folders.contains("epoch-0001-b000004"), "stopped at the end of the accumulation group: " + folders);
        try (TrainingRun t = TrainingRun.open(rc, stopped, TrainingRun.Options.DEFAULT)) {
            t.trainer().fit();
        }
        assertArrayEquals(
                Files.readAllBytes(straight.resolve("checkpoints/epoch-0002/model.safetensors")),
                Files.readAllBytes(stopped.resolve("checkpoints/epoch-0002/model.safetensors")));
        assertEquals(KillResumeTest.lossColumns(straight), KillResumeTest.lossColumns(stopped));
        assertArrayEquals(
                Files.readAllBytes(straight.resolve("checkpoints/epoch-0002/ema.safetensors")),
                Files.readAllBytes(stopped.resolve("checkpoints/epoch-0002/ema.safetensors")),
                "the average resumes exactly too");
        assertEquals(
                11,
                Files.readAllLines(stopped.resolve("metrics.csv")).get(1).split(",", -1).length,
                "with the average's two columns");
        assertEquals(
                "ema_val_acc",
                Files.readAllLines(stopped.resolve("metrics.csv")).get(0).split(",", -1)[10],
                "the header names them");
    }

    /** Two micro-batches of 32 accumulated make the same step as one batch of 64 (a model without BatchNorm). */
    @Test
    void accumulatingTwoBatchesOf32EqualsOneOf64() {
        Arch arch = Models.preset("vgg11_bn_gap").withOverrides(ConfigNode.parse("{batch_norm: false}", "test"));
        ModelSpec spec = new ModelSpec("vgg11_bn_gap", arch, 5, "kaiming", "normal");
        Net whole = spec.build(1), parts = spec.build(1);
        float[] x = randomImages(64, 32, 32, 4);
        long[] y = new long[64];
        for (int i = 0; i < 64; i++) y[i] = i % 5;
        int half = 32 * 3 * 32 * 32;
        Trainer one = plain(whole), two = plain(parts, o -> o.withAccumulate(2));
        one.step(new Loader.Batch(x, y, 64, 32, 32, 0));
        two.step(
                new Loader.Batch(Arrays.copyOfRange(x, 0, half), Arrays.copyOfRange(y, 0, 32), 32, 32, 32, 0),
                true,
                false);
        two.step(
                new Loader.Batch(Arrays.copyOfRange(x, half, 2 * half), Arrays.copyOfRange(y, 32, 64), 32, 32, 32, 0),
                false,
                true);
        var a = whole.parameters();
        var b = parts.parameters();
        double maxDiff = Scoped.call(() -> {
            double m = 0;
            for (long i = 0; i < a.size(); i++)
                m = Math.max(m, a.get(i).sub(b.get(i)).abs().max().item_double());
            return m;
        });
        assertTrue(maxDiff < 1e-5, "max |one step of 64 − two of 32| = " + maxDiff);
    }

    static Trainer plain(Net net) {
        return plain(net, o -> o);
    }

    static Trainer plain(Net net, UnaryOperator<Trainer.Options> options) {
        OptimizerConfig o = new OptimizerConfig("sgd", 0.05, 0.9, true, 0, 0.9, 0.999);
        return new Trainer(
                net,
                Optimizers.create(o, net),
                null,
                null,
                options.apply(
                        Trainer.Options.of(Precision.FP32, new Schedule(new ScheduleConfig.Constant(0), 0.05, 1), 1)));
    }

    /** After k steps the average is the formula's: e ← d·e + (1 − d)·w, from the starting weights. */
    @Test
    void theAverageOfTheWeightsFollowsTheFormula() {
        Net net = Models.create("preact_resnet20_cifar", 5);
        Trainer t = plain(net, o -> o.withEma(new ModelEma.Spec(0.5, false)));
        ModelEma ema = t.ema();
        Tensor w = net.parameters().get(0);
        float[] expected = Scoped.call(() -> Tensors.toFloats(w));
        for (int k = 0; k < 3; k++) {
            t.step(new Loader.Batch(randomImages(4, 32, 32, 10 + k), new long[] {0, 1, 2, 3}, 4, 32, 32, 0));
            float[] now = Scoped.call(() -> Tensors.toFloats(w));
            for (int i = 0; i < expected.length; i++) expected[i] = 0.5f * expected[i] + 0.5f * now[i];
        }
        float[] avg = Scoped.call(
                () -> Tensors.toFloats(ema.tensors().values().iterator().next()));
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], avg[i], 1e-6f, "element " + i);
        assertEquals(3, ema.updates());
        assertEquals(
                2.0 / 11,
                new ModelEma(net, 0.9999, true).nextDecay(),
                1e-12,
                "warm-up: min(decay, (1 + n) / (10 + n))");
        // evaluated in place, the trained weights come back afterwards
        float[] before = Scoped.call(() -> Tensors.toFloats(w));
        ema.withWeightsIn(() -> {
            assertArrayEquals(avg, Scoped.call(() -> Tensors.toFloats(w)));
            return null;
        });
        assertArrayEquals(before, Scoped.call(() -> Tensors.toFloats(w)));
    }
}
