package convnet.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.engine.Engine;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code models} and {@code summary} need no initialised weights: counts and shapes come out the same without them. */
class ShapesOnlyTest {
    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    /** torchvision's own counts (1000 classes) for the large ones, which are slow to build for real. */
    static final Map<String, Long> TORCHVISION = Map.of(
            "vgg11",
            132_863_336L,
            "vgg13",
            133_047_848L,
            "vgg16",
            138_357_544L,
            "vgg19",
            143_667_240L,
            "vgg11_bn",
            132_868_840L,
            "vgg13_bn",
            133_053_736L,
            "vgg16_bn",
            138_365_992L,
            "vgg19_bn",
            143_678_248L);

    @Test
    void everyModelCountsTheSameParametersOnTheMetaDevice() {
        for (String name : Models.names()) {
            Net meta = Layers.shapesOnly(() -> Models.create(name, 1000));
            assertTrue(meta.parameters().get(0).is_meta(), name + ": the weights take no memory");
            long expected;
            if (TORCHVISION.containsKey(name)) {
                expected = TORCHVISION.get(name);
            } else if (name.startsWith("vgg")) {
                continue; // vgg13_caltech: 133 M parameters, counted in ModelsTest
            } else {
                Net real = Models.create(name, 1000);
                assertFalse(real.parameters().get(0).is_meta());
                expected = real.parameterCount();
                real.close();
            }
            assertEquals(expected, meta.parameterCount(), name);
            meta.close();
        }
    }

    @Test
    void anUninitialisedNetworkGivesTheSameSummary() {
        for (String name : new String[] {"preact_resnet20_cifar", "vgg11_bn_gap", "vgg13_caltech"}) {
            int size = name.endsWith("caltech") ? 64 : 32;
            Net plain = Models.create(name, 7);
            Net fast = Layers.uninitialised(() -> Models.create(name, 7));
            assertEquals(
                    Summary.of(plain, 3, size, size).format(),
                    Summary.of(fast, 3, size, size).format(),
                    name);
            plain.close();
            fast.close();
        }
    }
}
