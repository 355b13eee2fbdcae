package convnet.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.UserException;
import convnet.config.ConfigNode;
import convnet.config.YamlMaps;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigTest {
    static final String GOOD = """
            name: t
            model:
              name: preact_resnet20_cifar
            data:
              train: somewhere
              image_size: 32
            train:
              epochs: 3
              optimizer: {name: sgd, lr: 0.1}
            """;

    static RunConfig read(String yaml) {
        return RunConfig.from(ConfigNode.parse(yaml, "test.yaml"), Path.of("/tmp"));
    }

    @Test
    void defaultsAreFilledAndRoundTrip() {
        RunConfig c = read(GOOD);
        assertEquals(3, c.train().epochs());
        assertEquals(0.1, c.train().optimizer().lr());
        assertTrue(c.train().optimizer().nesterov());
        assertEquals(RunConfig.PrecisionSetting.AUTO, c.train().precision());
        RunConfig again = RunConfig.from(YamlMaps.node(c.toMap(), "resolved"), Path.of("/tmp"));
        assertEquals(c.toMap(), again.toMap());
    }

    @Test
    void unknownKeyNamesKeyAndLine() {
        UserException e = assertThrows(UserException.class, () -> read(GOOD.replace("  epochs: 3", "  epoch: 3")));
        assertTrue(e.getMessage().contains("test.yaml line 8"), e.getMessage());
        assertTrue(e.getMessage().contains("'train.epoch'"), e.getMessage());
        assertTrue(e.getMessage().contains("unknown key"), e.getMessage());
    }

    @Test
    void wrongTypeAndRange() {
        UserException e = assertThrows(UserException.class, () -> read(GOOD.replace("epochs: 3", "epochs: many")));
        assertTrue(
                e.getMessage().contains("'train.epochs'")
                        && e.getMessage().contains("whole number")
                        && e.getMessage().contains("line 8"),
                e.getMessage());
        e = assertThrows(UserException.class, () -> read(GOOD.replace("lr: 0.1", "lr: -0.1")));
        assertTrue(
                e.getMessage().contains("'train.optimizer.lr'")
                        && e.getMessage().contains("-0.1"),
                e.getMessage());
        e = assertThrows(UserException.class, () -> read(GOOD.replace("preact_resnet20_cifar", "resnet9000")));
        assertTrue(e.getMessage().contains("'model.name'") && e.getMessage().contains("vgg16"), e.getMessage());
    }

    @Test
    void validatingTheAverageOnlyForbidsRankingByTheModelsOwnFigures() {
        String onlyAverage = GOOD.replace(
                "  epochs: 3\n",
                "  epochs: 3\n  ema: {decay: 0.99, validate_model: false}\n  best_metric: ema_val_acc\n");
        RunConfig c = read(onlyAverage);
        assertTrue(!c.train().ema().validateModel() && c.train().ema().on());
        UserException e = assertThrows(
                UserException.class,
                () -> read(onlyAverage.replace("best_metric: ema_val_acc", "best_metric: val_acc")));
        assertTrue(
                e.getMessage().contains("test.yaml line 9")
                        && e.getMessage().contains("validate_model")
                        && e.getMessage().contains("best_metric: val_acc")
                        && e.getMessage().contains("expected ema_val_acc or ema_val_loss"),
                e.getMessage());
        e = assertThrows(
                UserException.class,
                () -> read(onlyAverage.replace(
                        "best_metric: ema_val_acc", "best_metric: ema_val_acc\n  early_stopping: {patience: 3}")));
        assertTrue(e.getMessage().contains("early_stopping.monitor: val_loss"), e.getMessage());
    }

    @Test
    void setOverridesAndNamesItselfInErrors() {
        ConfigNode n = ConfigNode.parse(GOOD, "test.yaml");
        n.set("train.epochs=7");
        n.set("data.batch_size=8");
        n.set("model.options.stages=[[8, 1], [16, 1]]");
        RunConfig c = RunConfig.from(n, Path.of("/tmp"));
        assertEquals(7, c.train().epochs());
        assertEquals(8, c.data().batchSize());
        assertEquals(2, ((List<?>) c.model().arch().toMap().get("stages")).size());
        ConfigNode bad = ConfigNode.parse(GOOD, "test.yaml");
        bad.set("train.epochs=0");
        UserException e = assertThrows(UserException.class, () -> RunConfig.from(bad, Path.of("/tmp")));
        assertTrue(e.getMessage().startsWith("--set train.epochs"), e.getMessage());
    }

    @Test
    void badYamlAndBadTransform() {
        UserException e = assertThrows(UserException.class, () -> read("name: [unclosed"));
        assertTrue(e.getMessage().startsWith("test.yaml"), e.getMessage());
        e = assertThrows(
                UserException.class,
                () -> read(
                        GOOD.replace("image_size: 32", "image_size: 32\n  train_transforms:\n    - {op: spin, p: 1}")));
        assertTrue(
                e.getMessage().contains("data.train_transforms[0].op")
                        && e.getMessage().contains("random_crop"),
                e.getMessage());
    }
}
