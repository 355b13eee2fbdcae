package convnet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.engine.Engine;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ModelsTest {
    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    @ParameterizedTest
    @CsvSource({
        "vgg11, 132863336",
        "vgg13, 133047848",
        "vgg16, 138357544",
        "vgg19, 143667240",
        "vgg11_bn, 132868840",
        "vgg16_bn, 138365992"
    })
    void vggParameterCountsEqualTorchvision(String name, long expected) {
        Net net = Models.create(name, 1000);
        assertEquals(expected, net.parameterCount());
    }

    @Test
    void resnetPresetCounts() {
        long cifar = Models.create("preact_resnet20_cifar", 10).parameterCount();
        // 0.27 M as in He et al.; the projection shortcuts add a few thousand.
        assertTrue(cifar > 260_000 && cifar < 285_000, "preact_resnet20_cifar has " + cifar);
        long r20 = Models.create("preact_resnet20", 256).parameterCount();
        long r26 = Models.create("preact_resnet26", 256).parameterCount();
        long r50 = Models.create("preact_resnet50", 1000).parameterCount();
        assertTrue(r20 < r26 && r26 < r50, r20 + " " + r26 + " " + r50);
        // torchvision's resnet50 has 25,557,032; the pre-activation form differs only in BN placement and projections
        assertTrue(Math.abs(r50 - 25_557_032) < 200_000, "preact_resnet50 has " + r50);
    }

    @Test
    void outputShapesAt224And32() {
        Net vgg = Models.create("vgg11_bn", 7);
        assertArrayEquals(new long[] {2, 7}, outputShape(vgg, 224));
        Summary s = Summary.of(vgg, 3, 224, 224);
        Summary.Row lastPool = s.rows.stream()
                .filter(r -> r.name().startsWith("features."))
                .reduce((a, b) -> b)
                .orElseThrow();
        assertArrayEquals(new long[] {1, 512, 7, 7}, lastPool.outputShape());
        assertArrayEquals(new long[] {2, 10}, outputShape(Models.create("vgg11_bn_gap", 10), 32));
        assertArrayEquals(new long[] {2, 10}, outputShape(Models.create("preact_resnet20_cifar", 10), 32));
        assertArrayEquals(new long[] {2, 5}, outputShape(Models.create("preact_resnet20", 5), 224));
    }

    private static long[] outputShape(Net net, int size) {
        net.eval();
        return Scoped.call(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                return Tensors.shape(net.forward(torch.randn(2, 3, size, size)));
            }
        });
    }

    @Test
    void summaryRowsAddUpToTotal() {
        Net net = Models.create("preact_resnet20_cifar", 10);
        Summary s = Summary.of(net, 3, 32, 32);
        assertEquals(
                net.parameterCount(),
                s.rows.stream().mapToLong(Summary.Row::params).sum());
        assertTrue(s.format().contains("Total params: " + String.format("%,d", net.parameterCount())));
    }
}
