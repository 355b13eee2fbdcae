package convnet.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** Which keys differ between two config documents, as dotted paths with their old and new values. */
public final class ConfigDiff {
    private ConfigDiff() {}

    /** The dotted keys whose values differ between two YAML dumps (empty when {@code before} is null). */
    public static List<String> changedKeys(String before, String after) {
        if (before == null) return List.of();
        Map<String, String> a = new TreeMap<>(), b = new TreeMap<>();
        try { // plain maps, lists and scalars only: a checkpoint's file never names a class to build
            flatten("", safeYaml().load(before), a);
            flatten("", safeYaml().load(after), b);
        } catch (RuntimeException unreadable) {
            return List.of("(its config.yaml is not readable: "
                    + String.valueOf(unreadable.getMessage())
                            .lines()
                            .findFirst()
                            .orElse("") + ")");
        }
        Set<String> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        List<String> out = new ArrayList<>();
        for (String k : keys) if (!Objects.equals(a.get(k), b.get(k))) out.add(k + " " + a.get(k) + " → " + b.get(k));
        return out;
    }

    private static Yaml safeYaml() {
        return new Yaml(new SafeConstructor(new LoaderOptions()));
    }

    private static void flatten(String prefix, Object node, Map<String, String> out) {
        if (node instanceof Map<?, ?> m) {
            for (var e : m.entrySet())
                flatten(prefix.isEmpty() ? String.valueOf(e.getKey()) : prefix + "." + e.getKey(), e.getValue(), out);
        } else {
            out.put(prefix, String.valueOf(node));
        }
    }
}
