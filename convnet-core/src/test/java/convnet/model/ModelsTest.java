package convnet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.engine.Engine;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    @ParameterizedTest
    @CsvSource({"resnet18, 11689512", "resnet34, 21797672", "resnet50, 25557032"})
    void torchvisionResnetParameterCountsEqualTorchvision(String name, long expected) {
        Net net = Layers.shapesOnly(() -> Models.create(name, 1000));
        assertEquals(expected, net.parameterCount());
    }

    /** torchvision's names and shapes, the stride of a bottleneck on its 3×3 convolution, projections where the shape changes. */
    @Test
    void torchvisionResnetNamesAndShapes() {
        Map<String, long[]> r50 = shapes(Layers.shapesOnly(() -> Models.create("resnet50", 1000)));
        assertArrayEquals(new long[] {64, 3, 7, 7}, r50.get("conv1.weight"));
        assertArrayEquals(new long[] {64}, r50.get("bn1.running_var"));
        assertArrayEquals(new long[] {256, 64, 1, 1}, r50.get("layer1.0.downsample.0.weight"));
        assertArrayEquals(new long[] {128, 128, 3, 3}, r50.get("layer2.0.conv2.weight"));
        assertArrayEquals(new long[] {512, 256, 1, 1}, r50.get("layer2.0.downsample.0.weight"));
        assertArrayEquals(new long[] {2048}, r50.get("layer4.2.bn3.weight"));
        assertArrayEquals(new long[] {1000, 2048}, r50.get("fc.weight"));
        assertTrue(!r50.containsKey("layer1.1.downsample.0.weight"));
        assertEquals(320, r50.size(), "torchvision's resnet50 state_dict has 320 entries");
        Map<String, long[]> r18 = shapes(Layers.shapesOnly(() -> Models.create("resnet18", 1000)));
        assertTrue(!r18.containsKey("layer1.0.downsample.0.weight"), "no projection where the shape stays");
        assertArrayEquals(new long[] {128, 64, 1, 1}, r18.get("layer2.0.downsample.0.weight"));
        assertEquals(122, r18.size(), "torchvision's resnet18 state_dict has 122 entries");
        // the order of torchvision's state_dict: the branch, then the projection
        List<String> order = new ArrayList<>(r18.keySet());
        assertTrue(order.indexOf("layer2.0.bn2.weight") < order.indexOf("layer2.0.downsample.0.weight"));
    }

    private static Map<String, long[]> shapes(Net net) {
        Map<String, long[]> out = new LinkedHashMap<>();
        var p = net.named_parameters(true);
        for (long i = 0; i < p.size(); i++)
            out.put(p.get(i).key().getString(), Tensors.shape(p.get(i).value()));
        var b = net.named_buffers(true);
        for (long i = 0; i < b.size(); i++)
            out.put(b.get(i).key().getString(), Tensors.shape(b.get(i).value()));
        return out;
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
        Net r18 = Models.create("resnet18", 5);
        assertArrayEquals(new long[] {2, 5}, outputShape(r18, 224));
        assertArrayEquals(new long[] {2, 5}, outputShape(r18, 64));
        Summary rs = Summary.of(r18, 3, 224, 224);
        assertArrayEquals(
                new long[] {1, 64, 56, 56},
                rs.rows.stream()
                        .filter(r -> r.name().equals("maxpool"))
                        .findFirst()
                        .orElseThrow()
                        .outputShape());
        assertArrayEquals(
                new long[] {1, 512, 7, 7},
                rs.rows.stream()
                        .filter(r -> r.name().equals("layer4.1"))
                        .findFirst()
                        .orElseThrow()
                        .outputShape());
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
