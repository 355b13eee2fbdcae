package convnet.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.Npy;
import convnet.ResnetFixtures;
import convnet.engine.Engine;
import convnet.model.Models;
import convnet.model.Net;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * torchvision's resnet18 and resnet50 (random weights and BatchNorm statistics, 5-class head, torch.save zip format,
 * made by scripts/make_resnet_fixtures.py) read by the restricted unpickler: logits within 1e-4 of torchvision's.
 */
class ResnetImportTest {
    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "resnet50"})
    void importedWeightsReproduceTorchvisionLogits(String name) throws Exception {
        Net net = Models.create(name, 5);
        List<String> loaded = Weights.load(ResnetFixtures.file(name + "-head5.pth"), net, false);
        assertEquals(name.equals("resnet18") ? 122 : 320, loaded.size(), "every tensor of torchvision's state_dict");
        Npy input = Npy.read(ResnetFixtures.file("input.npy"));
        float[] out = WeightsTest.logits(net, input);
        float[] expected = Npy.read(ResnetFixtures.file(name + "-head5.logits.npy")).data;
        double diff = WeightsTest.maxAbsDiff(out, expected), scale = 0;
        for (float v : expected) scale = Math.max(scale, Math.abs(v));
        System.out.printf("%s: max |Δlogit| %.2e against torchvision, max |logit| %.2f%n", name, diff, scale);
        assertTrue(scale > 0.5, "logits too small to compare: " + scale);
        assertTrue(diff < 1e-4, name + ": max |diff| " + diff);
        assertEquals(
                1234L, StateDict.of(net).get("layer1.0.bn1.num_batches_tracked").item_long());
    }

    /** A new class count: everything but fc comes from the file. */
    @Test
    void dropHeadKeepsTheNewFc() throws Exception {
        Net net = Models.create("resnet18", 3);
        List<String> loaded = Weights.load(ResnetFixtures.file("resnet18-head5.pth"), net, true);
        assertFalse(loaded.contains("fc.weight") || loaded.contains("fc.bias"));
        assertTrue(loaded.contains("layer4.1.bn2.running_var"));
        assertEquals("fc", Weights.headPrefix(net));
    }
}
