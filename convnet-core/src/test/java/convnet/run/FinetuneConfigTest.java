package convnet.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.UserException;
import convnet.train.Metric;
import convnet.weights.Pretrained;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The config {@code convnet finetune} generates: its defaults, and what it refuses. */
class FinetuneConfigTest {
    static final Path DATA = Path.of("samples/flowers");

    @Test
    void theDefaultsAreTheDocumentedRecipe() {
        RunConfig rc = Finetune.config(Finetune.Options.of(DATA), List.of());
        assertEquals("finetune-flowers", rc.name());
        assertEquals("resnet50", rc.model().name());
        assertEquals("resnet50", rc.model().pretrained());
        assertEquals(
                Pretrained.cacheDir().resolve("resnet50-11ad3fa6.pth"),
                rc.model().weights());
        assertTrue(rc.model().dropHead());
        assertEquals(DATA.toAbsolutePath().normalize(), rc.data().train());
        assertEquals(224, rc.data().imageSize());
        assertEquals(0.485, rc.data().mean()[0]);
        RunConfig.Train t = rc.train();
        assertEquals(10, t.epochs());
        assertEquals(List.of("backbone"), t.freeze());
        assertEquals(2, t.freezeEpochs(), "a fifth of the epochs train the head alone");
        assertEquals(Map.of("backbone", 0.1), t.lrFactors());
        assertEquals(0.01, t.optimizer().lr());
        assertEquals(0.1, t.labelSmoothing());
        assertEquals(0.99, t.ema().decay());
        assertEquals(Metric.EMA_VAL_ACC, t.bestMetric());
        assertEquals("cosine", t.schedule().name());
    }

    @Test
    void optionsAndOverridesChangeIt() {
        Finetune.Options o =
                new Finetune.Options(DATA, "torchvision:resnet50_v1", null, 2, -1, 64, 16, 0.02, 0.2, 0.25, "x");
        RunConfig rc = Finetune.config(o, List.of("train.ema.decay=0.9"));
        assertEquals("resnet50", rc.model().name(), "resnet50_v1 is a resnet50");
        assertEquals(1, rc.train().freezeEpochs(), "at least one epoch of the head alone");
        assertEquals(64, rc.data().imageSize());
        assertEquals(0.9, rc.train().ema().decay());
        assertEquals(Map.of("backbone", 0.2), rc.train().lrFactors());
        assertEquals("x", rc.name());
        RunConfig file = Finetune.config(
                new Finetune.Options(DATA, "backbone.safetensors", "resnet18", 3, 0, 96, 8, 0.01, 0.1, 0.2, null),
                List.of());
        assertEquals(
                Path.of("backbone.safetensors").toAbsolutePath(), file.model().weights());
        assertEquals(0, file.train().freezeEpochs());
        assertEquals(List.of(), file.train().freeze(), "no head-only phase: nothing frozen");
    }

    @Test
    void whatItRefusesIsSaidInOneLine() {
        UserException noModel = assertThrows(
                UserException.class,
                () -> Finetune.yaml(new Finetune.Options(DATA, "w.pth", null, 2, -1, 64, 8, 0.01, 0.1, 0.2, null)));
        assertTrue(noModel.getMessage().contains("--model"), noModel.getMessage());
        UserException unknown = assertThrows(
                UserException.class,
                () -> Finetune.yaml(
                        new Finetune.Options(DATA, "torchvision:resnet99", null, 2, -1, 64, 8, 0.01, 0.1, 0.2, null)));
        assertTrue(unknown.getMessage().contains("resnet50_v1"), unknown.getMessage());
        UserException head = assertThrows(
                UserException.class,
                () -> Finetune.yaml(
                        new Finetune.Options(DATA, "torchvision:resnet18", null, 2, 3, 64, 8, 0.01, 0.1, 0.2, null)));
        assertTrue(head.getMessage().contains("--head-epochs 3"), head.getMessage());
    }
}
