package convnet.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TestData;
import convnet.UserException;
import convnet.config.ConfigNode;
import convnet.engine.Engine;
import convnet.engine.Tensors;
import convnet.model.Models;
import convnet.model.Net;
import convnet.model.ParamGroups;
import convnet.train.TrainListener;
import convnet.train.Trainer;
import convnet.weights.Safetensors;
import convnet.weights.StateDict;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train.freeze} and {@code train.lr_factors}: groups per family, frozen weights and BatchNorm statistics
 * bitwise unchanged by training, per-group learning rates, and an exact resume across the end of a freeze.
 */
class FreezeTest {
    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    static RunConfig config(Path data, String model, String train) {
        return RunConfig.from(
                ConfigNode.parse(
                        "name: f\nseed: 5\nmodel: {name: " + model + "}\ndata: {train: " + data
                                + ", image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\n"
                                + "train: " + train + "\n",
                        "f.yaml"),
                data.getParent());
    }

    /** Every tensor of the model's state (weights and buffers), as values. */
    static Map<String, float[]> snapshot(Net net) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (var e : StateDict.of(net).entrySet()) out.put(e.getKey(), Tensors.toFloats(e.getValue()));
        return out;
    }

    static boolean under(String name, List<String> prefixes) {
        return prefixes.stream().anyMatch(p -> name.equals(p) || name.startsWith(p + "."));
    }

    @Test
    void everyFamilyNamesItsStemAndStages() {
        Net vgg = Models.create("vgg11_bn", 5);
        // configuration A: 64, M, ... — stage1 is features.0 (conv) .1 (BN) .2 (ReLU) .3 (pool)
        assertEquals(
                Set.of("features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias"),
                ParamGroups.select(vgg, "stage1", Set.of()));
        assertEquals(5, vgg.spec().arch().groups().size());
        assertEquals(Set.of("classifier.6.weight", "classifier.6.bias"), ParamGroups.select(vgg, "head", Set.of()));
        Net preact = Models.create("preact_resnet20_cifar", 5);
        assertEquals(
                List.of("stem", "stage1", "stage2", "stage3"),
                List.copyOf(preact.spec().arch().groups().keySet()));
        assertTrue(
                ParamGroups.select(preact, "stage3", Set.of()).contains("post.0.weight"), "the final BN is stage3's");
        Net r18 = Models.create("resnet18", 5);
        assertEquals(Set.of("conv1.weight", "bn1.weight", "bn1.bias"), ParamGroups.select(r18, "stem", Set.of()));
        Set<String> layer1 = ParamGroups.select(r18, "layer1", Set.of());
        assertEquals(ParamGroups.select(r18, "stage1", Set.of()), layer1);
        assertTrue(ParamGroups.select(r18, "layer1.0", Set.of()).size() * 2 == layer1.size());
        Set<String> backbone = ParamGroups.select(r18, "backbone", Set.of());
        assertFalse(backbone.contains("fc.weight"));
        assertEquals(ParamGroups.parameterNames(r18).size(), backbone.size() + 2);
        assertEquals(
                Set.of("bn1", "layer1.0.bn1", "layer1.0.bn2", "layer1.1.bn1", "layer1.1.bn2"),
                ParamGroups.batchNorms(
                        r18,
                        ParamGroups.select(r18, "stem", Set.of()).stream()
                                .collect(Collectors.toCollection(() -> new HashSet<>(layer1)))));
        UserException e = assertThrows(UserException.class, () -> ParamGroups.select(r18, "layer9", Set.of()));
        assertTrue(
                e.getMessage()
                        .contains("'layer9' names no part of resnet18 (groups: stem, stage1, stage2, stage3,"
                                + " stage4, head, backbone, pretrained; or a layer name such as conv1)"),
                e.getMessage());
    }

    @Test
    void aNameThatFitsNothingIsRefusedBeforeTheRunDirectoryIsWritten(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 5, "daisy", "rose");
        Path run = tmp.resolve("run");
        UserException e = assertThrows(
                UserException.class,
                () -> TrainingRun.open(
                        config(data, "vgg11_bn_gap", "{epochs: 1, freeze: [stem]}"), run, TrainingRun.Options.DEFAULT));
        assertTrue(
                e.getMessage().startsWith("train.freeze: 'stem' names no part of vgg11_bn_gap (groups: stage1,"),
                e.getMessage());
        assertFalse(Files.exists(run));
        UserException bad = assertThrows(UserException.class, () -> config(data, "resnet18", "{freeze: stem}"));
        assertTrue(
                bad.getMessage().contains("'train.freeze'") && bad.getMessage().contains("expected a list"),
                bad.getMessage());
    }

    /** The stem and stage1 of resnet18 frozen for a whole epoch of SGD with momentum and weight decay. */
    @Test
    void frozenWeightsAndBatchNormStatisticsAreBitwiseUnchangedAfterAnEpoch(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 8, "daisy", "rose", "tulip");
        RunConfig rc = config(
                data,
                "resnet18",
                "{epochs: 1, freeze: [stem, stage1], optimizer: {name: sgd, lr: 0.05, weight_decay: 0.01}}");
        assertEquals(List.of("stem", "stage1"), rc.train().freeze());
        List<String> frozen = List.of("conv1", "bn1", "layer1");
        try (TrainingRun t = TrainingRun.open(rc, tmp.resolve("run"), TrainingRun.Options.DEFAULT)) {
            Net net = t.trainer().net();
            Map<String, float[]> before = snapshot(net);
            t.trainer().fit();
            Map<String, float[]> after = snapshot(net);
            int held = 0, moved = 0;
            for (String name : before.keySet()) {
                boolean same = Arrays.equals(before.get(name), after.get(name));
                if (under(name, frozen)) {
                    assertTrue(same, name + " changed although frozen");
                    held++;
                } else if (!same) {
                    moved++;
                }
            }
            // conv1 and bn1's five tensors; two basic units of two convolutions and two BatchNorms each
            assertEquals(6 + 2 * (2 + 2 * 5), held, "weights, BN statistics and batch counts of stem and stage1");
            assertTrue(moved > 50, "the rest trains: " + moved + " tensors changed");
            assertFalse(
                    Arrays.equals(before.get("layer2.0.bn1.running_mean"), after.get("layer2.0.bn1.running_mean")),
                    "an unfrozen BatchNorm's statistics move");
        }
    }

    /** Per-group rates: one optimizer group per factor, the rates scaled as asked. */
    @Test
    void learningRateFactorsMakeOneGroupPerFactor(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 5, "daisy", "rose");
        RunConfig rc =
                config(data, "resnet18", "{epochs: 1, optimizer: {lr: 0.1}, lr_factors: {backbone: 0.1, layer4: 0.5}}");
        ModelSetup m = ModelSetup.build(rc, 2);
        assertArrayEquals(new double[] {0.1, 0.5, 1.0}, m.lrFactors());
        var groups = m.optimizer().param_groups();
        assertEquals(3, groups.size());
        assertEquals(0.1 * 0.1, groups.get(0).options().get_lr(), 1e-12);
        assertEquals(0.1 * 0.5, groups.get(1).options().get_lr(), 1e-12);
        assertEquals(2, groups.get(2).params().size(), "fc.weight and fc.bias at the full rate");
    }

    /**
     * Frozen for the first epoch, trained after it, with per-group rates: a run stopped in the frozen epoch and
     * resumed ends bitwise where an uninterrupted run does.
     */
    @Test
    void resumeIsExactAcrossTheEndOfAFreeze(@TempDir Path tmp) throws Exception {
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 8, "daisy", "rose", "tulip");
        RunConfig rc = config(
                data,
                "preact_resnet20_cifar",
                "{epochs: 2, freeze: [stem, stage1], freeze_epochs: 1, lr_factors: {stage2: 0.3},"
                        + " optimizer: {name: sgd, lr: 0.05}}");
        Path straight = tmp.resolve("straight"), stopped = tmp.resolve("stopped");
        try (TrainingRun t = TrainingRun.open(rc, straight, TrainingRun.Options.DEFAULT)) {
            t.trainer().fit();
        }
        try (TrainingRun t = TrainingRun.open(rc, stopped, TrainingRun.Options.DEFAULT)) {
            t.trainer().listen(new TrainListener() {
                @Override
                public void onBatchEnd(Trainer tr, BatchEnd b) {
                    if (b.epoch() == 0 && b.batch() == 2) tr.requestStop();
                }
            });
            t.trainer().fit();
        }
        assertTrue(Files.isDirectory(stopped.resolve("checkpoints/epoch-0000-b000002")), "stopped in the frozen epoch");
        try (TrainingRun t = TrainingRun.open(rc, stopped, TrainingRun.Options.DEFAULT)) {
            t.trainer().fit();
        }
        byte[] a = Files.readAllBytes(straight.resolve("checkpoints/epoch-0002/model.safetensors"));
        byte[] b = Files.readAllBytes(stopped.resolve("checkpoints/epoch-0002/model.safetensors"));
        assertArrayEquals(a, b);
        // and the freeze did end: stage1 trained in the second epoch
        Map<String, Safetensors.Entry>
                first = Safetensors.read(straight.resolve("checkpoints/epoch-0001/model.safetensors")),
                second = Safetensors.read(straight.resolve("checkpoints/epoch-0002/model.safetensors"));
        assertFalse(Arrays.equals(
                first.get("layer1.0.conv1.weight").data(),
                second.get("layer1.0.conv1.weight").data()));
        assertTrue(Files.readString(straight.resolve("config.yaml")).contains("freeze: [stem, stage1]"));
    }
}
