package convnet.config;

import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/** Writing plain maps as block-style YAML, and reading them back as config nodes. */
public final class Yamls {
    private Yamls() {}

    public static String dump(Map<String, Object> map) {
        DumperOptions o = new DumperOptions();
        o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        o.setIndent(2);
        o.setPrettyFlow(true);
        return new Yaml(o).dump(map);
    }

    public static ConfigNode node(Map<String, Object> map, String source) {
        return ConfigNode.parse(dump(map), source);
    }
}
