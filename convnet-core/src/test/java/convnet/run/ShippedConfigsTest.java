package convnet.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import convnet.config.ConfigNode;
import convnet.config.YamlMaps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every config in configs/ reads and validates, and its resolved form reads back the same. */
class ShippedConfigsTest {
    @Test
    void everyShippedConfigIsValid() throws Exception {
        List<Path> configs;
        try (Stream<Path> s = Files.list(Path.of("configs"))) {
            configs = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertFalse(configs.isEmpty());
        for (Path p : configs) {
            RunConfig c = RunConfig.from(ConfigNode.load(p), Path.of("").toAbsolutePath());
            RunConfig again = RunConfig.from(
                    YamlMaps.node(c.toMap(), "resolved " + p), Path.of("").toAbsolutePath());
            assertEquals(c.toMap(), again.toMap(), p.toString());
        }
    }
}
