package convnet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TestData;
import convnet.data.ImageFolder;
import convnet.data.Loader;
import convnet.data.Sample;
import convnet.data.transform.Pipeline;
import convnet.data.transform.Transforms;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.ModelSpec;
import convnet.model.Models;
import convnet.model.Net;
import convnet.model.Vgg;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Forward, backward and optimizer steps on real images, for every family; resident memory stays flat. */
class TrainingTest {
    static Loader.Batch batch32, batch64;

    @BeforeAll
    static void data() {
        Engine.start(2);
        ImageFolder f = ImageFolder.scan(TestData.dataset("flowers5-128"), null);
        List<Sample> some =
                ImageFolder.split(f.samples, f.classes.size(), 0.99, 3).get(1).subList(0, 16);
        batch32 = first(some, 32);
        batch64 = first(some, 64);
    }

    static Loader.Batch first(List<Sample> samples, int size) {
        Pipeline p = new Pipeline(List.of(new Transforms.Resize(size, 0, 0), new Transforms.CenterCrop(size)), size);
        try (Loader l = new Loader(
                samples,
                p,
                new float[] {0.5f, 0.5f, 0.5f},
                new float[] {0.25f, 0.25f, 0.25f},
                Loader.Options.evaluation(samples.size(), 2, Loader.OnBadImage.ERROR))) {
            return l.epoch(0, 0).next();
        }
    }

    static Trainer trainer(Net net, String optimizer, double lr) {
        OptimizerConfig o = new OptimizerConfig(optimizer, lr, 0.9, optimizer.equals("sgd"), 0, 0.9, 0.999);
        return new Trainer(
                net,
                Optimizers.create(o, net),
                null,
                null,
                Trainer.Options.of(Precision.FP32, new Schedule(new ScheduleConfig.Constant(0), lr, 1), 1));
    }

    /** {@code ema.validate_model: false}: one validation pass an epoch, the average's; the model's figures stay NaN. */
    @Test
    void validatingTheAverageOnlySkipsTheModelsOwnPass() {
        ImageFolder f = ImageFolder.scan(TestData.dataset("flowers5-128"), null);
        List<Sample> some = f.samples.subList(0, 24);
        Pipeline p = new Pipeline(List.of(new Transforms.Resize(32, 0, 0), new Transforms.CenterCrop(32)), 32);
        float[] mean = {0.5f, 0.5f, 0.5f}, std = {0.25f, 0.25f, 0.25f};
        for (boolean validateModel : new boolean[] {true, false}) {
            try (Loader train =
                            new Loader(some, p, mean, std, Loader.Options.training(8, 1, 1, Loader.OnBadImage.ERROR));
                    Loader val = new Loader(
                            some.subList(0, 10),
                            p,
                            mean,
                            std,
                            Loader.Options.evaluation(4, 1, Loader.OnBadImage.ERROR))) {
                Net net = Models.create("preact_resnet20_cifar", f.classes.size());
                OptimizerConfig o = new OptimizerConfig("sgd", 0.02, 0.9, true, 0, 0.9, 0.999);
                Trainer t = new Trainer(
                        net,
                        Optimizers.create(o, net),
                        train,
                        val,
                        Trainer.Options.of(Precision.FP32, new Schedule(new ScheduleConfig.Constant(0), 0.02, 1), 1)
                                .withEma(new ModelEma.Spec(0.9, false, validateModel)));
                List<EpochStats> epochs = new ArrayList<>();
                int[] validationBatches = {0};
                t.listen(new TrainListener() {
                    @Override
                    public void onEpochEnd(Trainer trainer, EpochStats s) {
                        epochs.add(s);
                    }

                    @Override
                    public void onValidationBatch(Trainer trainer, int batch, int batches) {
                        validationBatches[0]++;
                    }
                });
                t.fit();
                EpochStats s = epochs.get(0);
                assertTrue(!Double.isNaN(s.emaValAcc()) && !Double.isNaN(s.emaValLoss()), s.toString());
                assertEquals(validateModel, !Double.isNaN(s.valAcc()), s.toString());
                assertEquals(validateModel, !Double.isNaN(s.valLoss()), s.toString());
                assertEquals(3, validationBatches[0], "the listeners see one pass of 3 batches either way");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vgg_bn_small", "vgg_prelu_after", "preact_resnet20_cifar", "preact_resnet20"})
    void fewStepsLowerTheLossOnARealBatch(String which) {
        Net net = family(which);
        Loader.Batch b = which.equals("preact_resnet20") || which.equals("vgg_prelu_after") ? batch64 : batch32;
        Trainer t = trainer(net, which.startsWith("vgg") ? "adam" : "sgd", which.startsWith("vgg") ? 1e-3 : 0.02);
        net.train(true);
        double first = t.step(b)[0], last = first;
        for (int i = 0; i < 8; i++) last = t.step(b)[0];
        assertTrue(last < first * 0.8, which + ": loss " + first + " → " + last);
    }

    /**
     * bf16-mixed on every family, channels-last as {@code train} runs it, training and then predicting: the kernels a
     * CPU with native bf16 runs (AVX-512 bf16, AMX) and one without never does. Skipped where bf16 would be emulated.
     */
    @ParameterizedTest
    @ValueSource(strings = {"vgg_bn_small", "vgg_prelu_after", "preact_resnet20_cifar", "preact_resnet20"})
    void bf16MixedTrainsAndPredictsEveryFamilyWhereTheCpuHasBf16(String which) {
        Precision.Choice auto = Precision.choose("auto", Precision.cpuFlags());
        Assumptions.assumeTrue(
                auto.precision() == Precision.BF16_MIXED, "this CPU has no native bf16 (" + auto.reason() + ")");
        Net net = family(which);
        Loader.Batch b = which.equals("preact_resnet20") || which.equals("vgg_prelu_after") ? batch64 : batch32;
        double lr = which.startsWith("vgg") ? 1e-3 : 0.02;
        Trainer t = new Trainer(
                net,
                Optimizers.create(
                        new OptimizerConfig(which.startsWith("vgg") ? "adam" : "sgd", lr, 0.9, true, 0, 0.9, 0.999),
                        net),
                null,
                null,
                Trainer.Options.of(Precision.BF16_MIXED, new Schedule(new ScheduleConfig.Constant(0), lr, 1), 1)
                        .withChannelsLast(true));
        net.train(true);
        double first = t.step(b)[0], last = first;
        for (int i = 0; i < 8; i++) last = t.step(b)[0];
        assertTrue(last < first * 0.8, which + " in bf16: loss " + first + " → " + last);

        net.eval();
        Scoped.run(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                Tensor x = Tensors.fromFloats(b.images(), b.size(), 3, b.height(), b.width())
                        .contiguous(torch.MemoryFormat.ChannelsLast);
                float[] p16 = Tensors.toFloats(Precision.BF16_MIXED
                        .forward(() -> net.forward(x))
                        .to(torch.ScalarType.Float)
                        .softmax(1));
                float[] p32 = Tensors.toFloats(net.forward(x).softmax(1));
                double worst = 0;
                for (int i = 0; i < p16.length; i++) worst = Math.max(worst, Math.abs(p16[i] - p32[i]));
                assertTrue(worst < 0.1, which + ": bf16 probabilities differ from fp32 by up to " + worst);
            }
        });
    }

    static Net family(String which) {
        return switch (which) {
            case "vgg_bn_small" ->
                new ModelSpec(
                                "vgg11_bn",
                                new Vgg.Options("A", true, false, "relu", 0, "gap", new int[] {64}, 0),
                                5,
                                "kaiming",
                                "normal")
                        .build(1);
            case "vgg_prelu_after" ->
                new ModelSpec(
                                "vgg13_caltech",
                                new Vgg.Options("B", true, true, "prelu", 0.0, "fixed", new int[] {32, 32}, 0.0),
                                5,
                                "xavier",
                                "xavier")
                        .build(1);
            default -> Models.spec(which, 5).build(1);
        };
    }

    @Test
    void bf16MixedTrainsToo() {
        Net net = Models.spec("preact_resnet20_cifar", 5).build(1);
        Trainer t = new Trainer(
                net,
                Optimizers.create(new OptimizerConfig("sgd", 0.02, 0.9, true, 0, 0.9, 0.999), net),
                null,
                null,
                Trainer.Options.of(Precision.BF16_MIXED, new Schedule(new ScheduleConfig.Constant(0), 0.02, 1), 1));
        double first = t.step(batch32)[0], last = first;
        for (int i = 0; i < 8; i++) last = t.step(batch32)[0];
        assertTrue(last < first * 0.8, "loss " + first + " → " + last);
    }

    static float[] allWeights(Net net) {
        var params = net.parameters();
        List<Float> values = new ArrayList<>();
        for (long i = 0; i < params.size(); i++)
            for (float f : Tensors.toFloats(params.get(i).contiguous())) values.add(f);
        float[] a = new float[values.size()];
        for (int i = 0; i < a.length; i++) a[i] = values.get(i);
        return a;
    }

    /** float16 autocast with dynamic loss scaling: an overflowed step is skipped (weights untouched, scale halved); normal steps learn. */
    @Test
    void fp16MixedScalesTheLossAndSkipsOverflowedSteps() {
        Net net = Models.spec("preact_resnet20_cifar", 5).build(1);
        Trainer t = new Trainer(
                net,
                Optimizers.create(new OptimizerConfig("sgd", 0.02, 0.9, true, 0, 0.9, 0.999), net),
                null,
                null,
                Trainer.Options.of(Precision.FP16_MIXED, new Schedule(new ScheduleConfig.Constant(0), 0.02, 1), 1));
        net.train(true);
        Assertions.assertNotNull(t.scaler());
        float[] before = allWeights(net);
        t.scaler()
                .restore(
                        Map.of("scale", 1e39, "good_steps", 0, "skipped", 0)); // the scaled loss overflows even float32
        double loss = t.step(batch32)[0];
        assertTrue(Double.isFinite(loss), "the reported loss is the unscaled one: " + loss);
        Assertions.assertEquals(1, t.scaler().skipped());
        Assertions.assertEquals(5e38, t.scaler().scale(), 1e30);
        Assertions.assertArrayEquals(before, allWeights(net), "a skipped step leaves the weights as they were");

        t.scaler().restore(Map.of("scale", LossScaler.INITIAL_SCALE, "good_steps", 0, "skipped", 0));
        double first = t.step(batch32)[0], last = first;
        for (int i = 0; i < 8; i++) last = t.step(batch32)[0];
        assertTrue(last < first * 0.8, "loss " + first + " → " + last);
        Assertions.assertEquals(
                LossScaler.INITIAL_SCALE, t.scaler().scale(), "no overflow at the initial scale on this batch");
    }

    /** Guards the per-step PointerScope discipline: 300 steps, resident memory within 10% after warm-up. */
    @Test
    void residentMemoryStaysFlatOver300Steps() throws Exception {
        Net net = Models.spec("preact_resnet20_cifar", 5).build(1);
        Trainer t = trainer(net, "sgd", 0.01);
        for (int i = 0; i < 50; i++) t.step(batch32);
        long warm = rssKb();
        long peak = warm;
        for (int i = 0; i < 300; i++) {
            t.step(batch32);
            if (i % 25 == 0) peak = Math.max(peak, rssKb());
        }
        long end = rssKb();
        peak = Math.max(peak, end);
        assertTrue(peak <= warm * 1.10, "resident memory grew from " + warm + " kB to " + peak + " kB");
    }

    static long rssKb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", ""));
        }
        throw new IllegalStateException("no VmRSS");
    }
}
