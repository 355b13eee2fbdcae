package convnet.config;

import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Representer;

/** Writing plain maps as block-style YAML, and reading them back as config nodes. */
public final class YamlMaps {
    private YamlMaps() {}

    public static String dump(Map<String, Object> map) {
        DumperOptions o = new DumperOptions();
        o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        o.setIndent(2);
        return new Yaml(new ShortListsInline(o), o).dump(map);
    }

    /** Lists of up to eight plain values are written on one line, {@code [0.9, 0.999]}; the rest block-style. */
    private static final class ShortListsInline extends Representer {
        ShortListsInline(DumperOptions o) {
            super(o);
        }

        @Override
        protected Node representSequence(Tag tag, Iterable<?> sequence, DumperOptions.FlowStyle flowStyle) {
            int n = 0;
            boolean plain = true;
            for (Object item : sequence) {
                n++;
                plain &= item == null || item instanceof Number || item instanceof String || item instanceof Boolean;
            }
            return super.representSequence(tag, sequence, plain && n <= 8 ? DumperOptions.FlowStyle.FLOW : flowStyle);
        }
    }

    public static ConfigNode node(Map<String, Object> map, String source) {
        return ConfigNode.parse(dump(map), source);
    }
}
