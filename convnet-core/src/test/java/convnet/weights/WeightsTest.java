package convnet.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.NeedsSharedData;
import convnet.Npy;
import convnet.TestData;
import convnet.UserException;
import convnet.engine.Engine;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.ModelSpec;
import convnet.model.Net;
import convnet.model.Vgg;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Importing torchvision-format files from ../shared/fixtures/weights, safely, and safetensors round trips. */
@NeedsSharedData
class WeightsTest {
    static final Path FIX = TestData.SHARED.resolve("fixtures/weights");

    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    static Net head64(boolean bn, int classes) {
        return new ModelSpec(
                        bn ? "vgg11_bn" : "vgg11",
                        new Vgg.Options("A", bn, false, "relu", 0, "fixed", new int[] {64, 64}, 0.5),
                        classes,
                        "kaiming",
                        "normal")
                .build(7);
    }

    static float[] logits(Net net, Npy input) {
        net.eval();
        return Scoped.call(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                return Tensors.toFloats(net.forward(Tensors.fromFloats(input.data, input.shape)));
            }
        });
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @Test
    void zipFormatVggBnReproducesTorchvisionLogits() throws Exception {
        Net net = head64(true, 5);
        List<String> loaded = Weights.load(FIX.resolve("vgg11_bn-head64.pth"), net, false);
        assertTrue(loaded.contains("features.1.running_mean") && loaded.contains("classifier.6.weight"));
        float[] out = logits(net, Npy.read(FIX.resolve("input.npy")));
        double diff = maxAbsDiff(out, Npy.read(FIX.resolve("vgg11_bn-head64.logits.npy")).data);
        assertTrue(diff < 1e-4, "max |diff| " + diff);
        Map<String, Tensor> sd = StateDict.of(net);
        assertEquals(1234L, sd.get("features.1.num_batches_tracked").item_long());
    }

    @Test
    void legacyFormatVggReproducesTorchvisionLogits() throws Exception {
        Net net = head64(false, 5);
        Weights.load(FIX.resolve("vgg11-head64-legacy.pth"), net, false);
        double diff = maxAbsDiff(
                logits(net, Npy.read(FIX.resolve("input.npy"))), Npy.read(FIX.resolve("vgg11-head64.logits.npy")).data);
        assertTrue(diff < 1e-4, "max |diff| " + diff);
    }

    @Test
    void maliciousPickleIsRefusedWithoutRunningIt() throws Exception {
        Path marker = Path.of("/tmp/convnet-fixture-pwned");
        Files.deleteIfExists(marker);
        WeightsException e = assertThrows(WeightsException.class, () -> Weights.read(FIX.resolve("malicious.pth")));
        assertTrue(e.getMessage().contains("posix.system") && e.getMessage().contains("refusing"), e.getMessage());
        assertFalse(Files.exists(marker), "the hostile command ran");
    }

    @Test
    void truncatedFilesGiveAClearError(@TempDir Path tmp) throws Exception {
        for (String name : List.of("vgg11_bn-head64.pth", "vgg11-head64-legacy.pth")) {
            byte[] all = Files.readAllBytes(FIX.resolve(name));
            Path cut = tmp.resolve("cut-" + name);
            Files.write(cut, Arrays.copyOf(all, all.length / 2));
            UserException e =
                    assertThrows(UserException.class, () -> Weights.load(cut, head64(name.contains("_bn"), 5), false));
            assertTrue(e.getMessage().startsWith(cut.toString()), e.getMessage());
            assertTrue(e.getMessage().matches("(?s).*(truncated|damaged).*"), e.getMessage());
        }
    }

    @Test
    void shapeMismatchNamesTheTensor() {
        Net wide = head64(true, 3);
        UserException e =
                assertThrows(UserException.class, () -> Weights.load(FIX.resolve("vgg11_bn-head64.pth"), wide, false));
        assertTrue(
                e.getMessage().contains("classifier.6.weight")
                        && e.getMessage().contains("[5, 64]")
                        && e.getMessage().contains("[3, 64]"),
                e.getMessage());
    }

    @Test
    void dropHeadLoadsEverythingButTheLastLayer() throws Exception {
        Net net = head64(true, 3);
        float[] headBefore = Tensors.toFloats(StateDict.of(net).get("classifier.6.weight"));
        List<String> loaded = Weights.load(FIX.resolve("vgg11_bn-head64.pth"), net, true);
        assertFalse(loaded.contains("classifier.6.weight"));
        assertTrue(loaded.contains("classifier.3.weight"));
        assertArrayEquals(headBefore, Tensors.toFloats(StateDict.of(net).get("classifier.6.weight")));
        Net reference = head64(true, 5);
        Weights.load(FIX.resolve("vgg11_bn-head64.pth"), reference, false);
        assertArrayEquals(
                Tensors.toFloats(StateDict.of(reference).get("features.0.weight")),
                Tensors.toFloats(StateDict.of(net).get("features.0.weight")));
    }

    @Test
    void safetensorsRoundTripIsExact(@TempDir Path tmp) {
        Net a = head64(true, 5);
        Weights.load(FIX.resolve("vgg11_bn-head64.pth"), a, false);
        Path file = tmp.resolve("w.safetensors");
        Safetensors.write(file, StateDict.of(a), Map.of("format", "pt"));
        Net b = head64(true, 5);
        Weights.load(file, b, false);
        Map<String, Tensor> sa = StateDict.of(a), sb = StateDict.of(b);
        assertEquals(sa.keySet(), sb.keySet());
        for (String k : sa.keySet()) {
            assertArrayEquals(Tensors.toFloats(sa.get(k)), Tensors.toFloats(sb.get(k)), 0f, k);
        }
    }

    /** num_batches_tracked is int64 in PyTorch's state dicts, and stays so (it was written as F32). */
    @Test
    void integerBuffersAreWrittenAsI64(@TempDir Path tmp) {
        Net a = head64(true, 5);
        Weights.load(FIX.resolve("vgg11_bn-head64.pth"), a, false);
        Path file = tmp.resolve("w.safetensors");
        Safetensors.write(file, StateDict.of(a), Map.of());
        Safetensors.Entry e = Safetensors.read(file).get("features.1.num_batches_tracked");
        assertEquals("I64", e.dtype());
        assertEquals(
                1234L, ByteBuffer.wrap(e.data()).order(ByteOrder.LITTLE_ENDIAN).getLong());
        assertEquals("F32", Safetensors.read(file).get("features.1.running_var").dtype());
    }
}
