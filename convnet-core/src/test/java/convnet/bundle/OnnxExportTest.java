package convnet.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import convnet.NeedsSharedData;
import convnet.Npy;
import convnet.OnnxRun;
import convnet.TestData;
import convnet.UserException;
import convnet.bundle.onnx.OnnxProto;
import convnet.config.ConfigNode;
import convnet.engine.Engine;
import convnet.engine.Tensors;
import convnet.model.Arch;
import convnet.model.Layers;
import convnet.model.ModelSpec;
import convnet.model.Models;
import convnet.model.Net;
import convnet.model.Sequential;
import convnet.weights.StateDict;
import convnet.weights.Weights;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * ONNX export of every model family, run in ONNX Runtime against libtorch on the same input: random weights with
 * random BatchNorm statistics and affine parameters (and PReLU slopes), small inputs, folded and not.
 */
class OnnxExportTest {
    static final double TOLERANCE = 1e-4;

    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    /** A preset at its own layout (a smaller classifier where given), Kaiming-initialised so logits are O(1). */
    static Net randomNet(String name, String options, int classes, long seed) {
        Arch arch = Models.preset(name);
        if (options != null) arch = arch.withOverrides(ConfigNode.parse(options, "test"));
        Net net = new ModelSpec(name, arch, classes, "kaiming", "kaiming").build(seed);
        Random r = new Random(seed);
        try (NoGradGuard g = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> e : StateDict.of(net).entrySet()) {
                Tensor t = e.getValue();
                String n = e.getKey();
                if (t.dim() != 1 || !t.is_floating_point()) continue; // not num_batches_tracked
                float[] v = new float[(int) t.numel()];
                for (int i = 0; i < v.length; i++) {
                    // running_var > 0; 1-D weights are BatchNorm γ or PReLU slopes; the rest are shifts
                    if (n.endsWith("running_var")) v[i] = 0.5f + r.nextFloat();
                    else if (n.endsWith("weight")) v[i] = 0.3f + r.nextFloat();
                    else v[i] = (float) (0.2 * r.nextGaussian());
                }
                t.copy_(Tensors.fromFloats(v, v.length));
            }
        }
        net.eval();
        return net;
    }

    record Compared(double maxDiff, double maxLogit, OnnxExport.Summary summary) {}

    static Compared compare(Net net, int size, boolean fold, int batch) throws Exception {
        OnnxExport.Graph g =
                OnnxExport.graph(net, 3, new OnnxExport.Options(size, size, fold), Map.of("model", "test"));
        float[] x = OnnxRun.normal(size + batch, batch, 3, size, size);
        float[] expected = OnnxRun.torch(net, x, batch, 3, size, size);
        try (OrtSession s = OnnxRun.session(g.model().toByteArray())) {
            long[] in = ((TensorInfo) s.getInputInfo().get("input").getInfo()).getShape();
            assertEquals(-1, in[0], "dynamic batch");
            float[] got = OnnxRun.run(s, x, batch, 3, size, size);
            assertEquals(net.numClasses() * batch, got.length);
            return new Compared(OnnxRun.maxAbsDiff(expected, got), OnnxRun.maxAbs(expected), g.summary());
        }
    }

    /** Every family: BatchNormalization nodes left with folding, and how many are folded. */
    @ParameterizedTest(name = "{0} at {2} px")
    @CsvSource(
            delimiter = ';',
            value = {
                "vgg11;{classifier_widths: [64, 64]};32;0;0",
                "vgg11_bn;{classifier_widths: [64, 64]};32;0;8",
                "vgg13_caltech;{classifier_widths: [64, 64]};64;10;0",
                "vgg11_bn_gap;;32;0;8",
                "preact_resnet20_cifar;;32;10;9",
                "preact_resnet20;;64;7;13",
                "resnet18;;64;0;20",
                "resnet50;;64;0;53"
            })
    void logitsAgreeWithLibtorch(String name, String options, int size, int bnLeft, int bnFolded) throws Exception {
        Net net = randomNet(name, options, 7, 11);
        Compared plain = compare(net, size, false, 2);
        Compared folded = compare(net, size, true, 3);
        System.out.printf(
                "onnx %-22s %3d px: max |Δlogit| %.2e (folded %.2e), max |logit| %.2f; %s%n",
                name, size, plain.maxDiff, folded.maxDiff, plain.maxLogit, plain.summary.ops());
        assertTrue(plain.maxLogit > 0.1, "logits too small to compare: " + plain.maxLogit);
        assertTrue(plain.maxDiff <= TOLERANCE, name + ": max |Δlogit| " + plain.maxDiff);
        assertTrue(folded.maxDiff <= TOLERANCE, name + " folded: max |Δlogit| " + folded.maxDiff);
        int bn = plain.summary.count("BatchNormalization");
        assertEquals(bnLeft + bnFolded, bn, "BatchNormalization nodes");
        assertEquals(bnFolded, folded.summary.foldedBatchNorms());
        assertEquals(bnLeft, folded.summary.count("BatchNormalization"), "left after folding");
        assertEquals(0, plain.summary.count("Dropout") + plain.summary.count("Identity"));
    }

    /** libtorch's adaptive average pool to 7×7, on maps smaller, equal, multiple and not a multiple of 7. */
    @ParameterizedTest(name = "{0}×{0} → 7×7 as {1}")
    @CsvSource({"1,MatMul", "2,MatMul", "3,MatMul", "7,Identity", "10,MatMul", "14,AveragePool", "15,MatMul"})
    void adaptivePoolToSevenMatchesLibtorchForAnyMapSize(int size, String op) throws Exception {
        Sequential pool = new Sequential();
        pool.add("avgpool", Layers.adaptiveAvgPool(7));
        OnnxExport.Graph g = OnnxExport.graph(pool, 4, new OnnxExport.Options(size, size, false), Map.of());
        assertTrue(g.summary().count(op) > 0, g.summary().ops().toString());
        float[] x = OnnxRun.normal(size, 2, 4, size, size);
        try (OrtSession s = OnnxRun.session(g.model().toByteArray())) {
            float[] got = OnnxRun.run(s, x, 2, 4, size, size);
            float[] want = OnnxRun.torch(pool, x, 2, 4, size, size);
            assertEquals(2 * 4 * 49, got.length);
            assertTrue(OnnxRun.maxAbsDiff(want, got) < 1e-6, "max |Δ| " + OnnxRun.maxAbsDiff(want, got));
        }
    }

    /** The shared fixture: torchvision's vgg11_bn (64-wide head) at 224 px, ONNX Runtime against torchvision and libtorch. */
    @Test
    @NeedsSharedData
    void torchvisionFixtureAt224() throws Exception {
        Path fix = TestData.SHARED.resolve("fixtures/weights");
        Net net = randomNet("vgg11_bn", "{classifier_widths: [64, 64]}", 5, 3);
        Weights.load(fix.resolve("vgg11_bn-head64.pth"), net, false);
        net.eval();
        Npy input = Npy.read(fix.resolve("input.npy"));
        float[] torchvision = Npy.read(fix.resolve("vgg11_bn-head64.logits.npy")).data;
        float[] libtorch = OnnxRun.torch(net, input.data, input.shape);
        for (boolean fold : new boolean[] {false, true}) {
            OnnxExport.Graph g = OnnxExport.graph(net, 3, new OnnxExport.Options(224, 224, fold), Map.of());
            assertEquals(0, g.summary().count("AveragePool") + g.summary().count("MatMul"), "7×7 is already 7×7");
            try (OrtSession s = OnnxRun.session(g.model().toByteArray())) {
                float[] got = OnnxRun.run(s, input.data, input.shape);
                double dLib = OnnxRun.maxAbsDiff(libtorch, got), dTv = OnnxRun.maxAbsDiff(torchvision, got);
                System.out.printf(
                        "onnx vgg11_bn fixture 224 px%s: max |Δlogit| %.2e against libtorch, %.2e against torchvision, max |logit| %.2f%n",
                        fold ? " (folded)" : "", dLib, dTv, OnnxRun.maxAbs(libtorch));
                assertTrue(dLib <= TOLERANCE, "against libtorch: " + dLib);
                assertTrue(dTv <= TOLERANCE, "against torchvision: " + dTv);
            }
        }
    }

    /**
     * torchvision's resnet50 (the fixture of scripts/make_resnet_fixtures.py: random weights and statistics) at 224 px:
     * ONNX Runtime against libtorch and against torchvision, folded and not.
     */
    @Test
    void torchvisionResnet50FixtureAt224() throws Exception {
        Path weights = convnet.ResnetFixtures.file("resnet50-head5.pth");
        Net net = Models.create("resnet50", 5);
        Weights.load(weights, net, false);
        net.eval();
        Npy input = Npy.read(convnet.ResnetFixtures.file("input.npy"));
        float[] torchvision = Npy.read(convnet.ResnetFixtures.file("resnet50-head5.logits.npy")).data;
        float[] libtorch = OnnxRun.torch(net, input.data, input.shape);
        for (boolean fold : new boolean[] {false, true}) {
            OnnxExport.Graph g = OnnxExport.graph(net, 3, new OnnxExport.Options(224, 224, fold), Map.of());
            try (OrtSession s = OnnxRun.session(g.model().toByteArray())) {
                float[] got = OnnxRun.run(s, input.data, input.shape);
                double dLib = OnnxRun.maxAbsDiff(libtorch, got), dTv = OnnxRun.maxAbsDiff(torchvision, got);
                System.out.printf(
                        "onnx resnet50 fixture 224 px%s: max |Δlogit| %.2e against libtorch, %.2e against torchvision, max |logit| %.2f%n",
                        fold ? " (folded)" : "", dLib, dTv, OnnxRun.maxAbs(libtorch));
                assertTrue(OnnxRun.maxAbs(libtorch) > 0.5, "logits too small to compare");
                assertTrue(dLib <= TOLERANCE, "against libtorch: " + dLib);
                assertTrue(dTv <= TOLERANCE, "against torchvision: " + dTv);
            }
        }
    }

    @Test
    void theGraphIsOpset17WithNamedInputAndOutput() {
        Net net = randomNet("preact_resnet20_cifar", null, 3, 1);
        OnnxProto.ModelProto m = OnnxExport.graph(
                        net, 3, new OnnxExport.Options(32, 32, false), Map.of("classes", "[\"a\"]"))
                .model();
        assertEquals(17, m.getOpsetImport(0).getVersion());
        assertEquals("", m.getOpsetImport(0).getDomain());
        assertEquals(8, m.getIrVersion());
        var in = m.getGraph().getInput(0);
        assertEquals("input", in.getName());
        assertEquals(
                OnnxProto.TensorProto.DataType.FLOAT_VALUE,
                in.getType().getTensorType().getElemType());
        var dims = in.getType().getTensorType().getShape().getDimList();
        assertEquals("batch", dims.get(0).getDimParam());
        assertEquals(32, dims.get(3).getDimValue());
        var out = m.getGraph().getOutput(0);
        assertEquals("logits", out.getName());
        assertEquals("batch", out.getType().getTensorType().getShape().getDim(0).getDimParam());
        assertEquals(3, out.getType().getTensorType().getShape().getDim(1).getDimValue());
        assertTrue(m.getGraph().getInitializerList().stream()
                .anyMatch(t -> t.getName().equals("layer1.0.conv1.weight")));
        assertEquals("classes", m.getMetadataProps(0).getKey());
    }

    @Test
    void aLayerThatCannotBeExportedIsNamed() {
        Sequential s = new Sequential();
        s.add("features", new Sequential()).add(Layers.relu());
        s.add("head", x -> x);
        UserException e = assertThrows(
                UserException.class, () -> OnnxExport.graph(s, 3, new OnnxExport.Options(8, 8, false), Map.of()));
        assertTrue(e.getMessage().startsWith("cannot export layer head ("), e.getMessage());
    }

    @Test
    void anInputTooSmallForTheNetworkIsNamedAtTheLayer() {
        Net net = randomNet("vgg11_bn_gap", null, 3, 1);
        UserException e = assertThrows(
                UserException.class, () -> OnnxExport.graph(net, 3, new OnnxExport.Options(16, 16, false), Map.of()));
        assertTrue(
                e.getMessage().matches("cannot export layer features\\.\\d+ \\(MaxPool2d.*smaller than its window.*"),
                e.getMessage());
    }
}
