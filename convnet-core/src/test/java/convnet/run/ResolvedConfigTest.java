package convnet.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.config.ConfigNode;
import convnet.config.YamlMaps;
import convnet.train.ScheduleConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The resolved config.yaml shows the settings that apply to the run, short lists on one line. */
class ResolvedConfigTest {
    static String resolved(String train) {
        String yaml = "name: r\nmodel: {name: preact_resnet20_cifar}\ndata: {train: somewhere}\ntrain: " + train + "\n";
        RunConfig c = RunConfig.from(ConfigNode.parse(yaml, "r.yaml"), Path.of("/tmp"));
        String text = YamlMaps.dump(c.toMap());
        assertEquals(
                c.toMap(),
                RunConfig.from(YamlMaps.node(c.toMap(), "again"), Path.of("/tmp"))
                        .toMap(),
                "reads back the same");
        return text;
    }

    @Test
    void anSgdCosineRunShowsNeitherAdamNorPlateauSettings() {
        String text = resolved("{optimizer: {name: sgd}, schedule: {name: cosine}}");
        for (String absent :
                new String[] {"betas", "threshold", "cooldown", "pct_start", "milestones", "step_size", "drop_head"}) {
            assertFalse(text.contains(absent + ":"), absent + " in\n" + text);
        }
        assertTrue(text.contains("momentum: 0.9") && text.contains("eta_min:"), text);
        assertTrue(text.contains("scale: [0.08, 1.0]"), "short lists on one line:\n" + text);
    }

    @Test
    void adamAndPlateauShowTheirOwn() {
        String text = resolved("{optimizer: {name: adam}, schedule: {name: plateau, patience: 3}}");
        assertTrue(
                text.contains("betas: [0.9, 0.999]")
                        && text.contains("patience: 3")
                        && text.contains("monitor: val_acc"),
                text);
        assertFalse(text.contains("momentum:") || text.contains("nesterov:") || text.contains("eta_min:"), text);
        // a setting that does not apply is still accepted (and left out), not an error
        assertFalse(resolved("{optimizer: {name: adam, momentum: 0.5}}").contains("momentum"));
    }

    @Test
    void eachScheduleKindShowsItsOwnSettingsInReadingOrder() {
        Map<String, List<String>> own = Map.of(
                "constant", List.of("name", "warmup_epochs"),
                "cosine", List.of("name", "warmup_epochs", "eta_min", "t_max", "eta_min_late", "eta_min_late_epoch"),
                "cosine_restarts",
                        List.of(
                                "name",
                                "warmup_epochs",
                                "eta_min",
                                "t_max",
                                "t_mult",
                                "eta_min_late",
                                "eta_min_late_epoch"),
                "step", List.of("name", "warmup_epochs", "step_size", "gamma"),
                "multistep", List.of("name", "warmup_epochs", "gamma", "milestones"),
                "plateau",
                        List.of(
                                "name",
                                "warmup_epochs",
                                "monitor",
                                "mode",
                                "factor",
                                "patience",
                                "threshold",
                                "cooldown",
                                "min_lr"),
                "onecycle", List.of("name", "pct_start", "div_factor", "final_div_factor"));
        assertEquals(Set.copyOf(ScheduleConfig.NAMES), own.keySet());
        for (String name : ScheduleConfig.NAMES) {
            resolved("{schedule: {name: " + name
                    + ", gamma: 0.5, monitor: val_loss, t_mult: 2}}"); // reads back the same
            RunConfig c = RunConfig.from(
                    ConfigNode.parse(
                            "model: {name: vgg11}\ndata: {train: x}\ntrain: {schedule: {name: " + name + "}}",
                            "r.yaml"),
                    Path.of("/tmp"));
            assertEquals(name, c.train().schedule().name());
            @SuppressWarnings("unchecked")
            Map<String, Object> schedule =
                    (Map<String, Object>) ((Map<String, Object>) c.toMap().get("train")).get("schedule");
            assertEquals(own.get(name), List.copyOf(schedule.keySet()), name);
        }
    }
}
