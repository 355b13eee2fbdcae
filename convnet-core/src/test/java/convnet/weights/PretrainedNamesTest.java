package convnet.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;

import convnet.run.RunConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** torchvision's published ResNet files by name, and {@code torchvision:NAME} in a config (no download here). */
class PretrainedNamesTest {
    @Test
    void resnetFilesAreTorchvisionsDefaults() {
        assertEquals("resnet18-f37072fd.pth", Pretrained.fileOf("resnet18"));
        assertEquals("resnet34-b627a593.pth", Pretrained.fileOf("resnet34"));
        assertEquals("resnet50-11ad3fa6.pth", Pretrained.fileOf("resnet50")); // IMAGENET1K_V2, torchvision's DEFAULT
        assertEquals("resnet50-0676ba61.pth", Pretrained.fileOf("resnet50_v1"));
        assertEquals("11ad3fa6", Pretrained.hashPrefix(Pretrained.fileOf("resnet50")));
    }

    @Test
    void aConfigNamesThemFromTheCache() {
        RunConfig rc = RunConfig.parse(
                "model: {name: resnet50, init: {weights: 'torchvision:resnet50_v1', drop_head: true}}\ndata: {train: x}\n",
                Path.of("/tmp"));
        assertEquals(
                Pretrained.cacheDir().resolve("resnet50-0676ba61.pth"),
                rc.model().weights());
        assertEquals("resnet50_v1", rc.model().pretrained());
    }
}
