package convnet.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads one mapping of a config and remembers, key by key, what it read and the value it resolved to
 * (the default when absent). So each key is written once — in the line that reads it: the keys a
 * section accepts are the keys it read ({@link #rejectUnknown}), and the resolved config is the record
 * of what was read ({@link #resolved}), in reading order. Absent keys whose default is null are not recorded.
 */
public final class Section {
    private final ConfigNode node;
    private final Set<String> known = new LinkedHashSet<>();
    private final Map<String, Object> resolved = new LinkedHashMap<>();
    private final List<Section> children = new ArrayList<>();

    public Section(ConfigNode node) {
        this.node = node;
    }

    public ConfigNode node() {
        return node;
    }

    /** The child mapping under {@code key} (empty when absent), recorded as a nested section. */
    public Section section(String key) {
        known.add(key);
        Section child = new Section(node.get(key));
        children.add(child);
        resolved.put(key, child.resolved);
        return child;
    }

    /** The raw node under {@code key}, for values another builder parses; record its resolved form with {@link #put}. */
    public ConfigNode raw(String key) {
        known.add(key);
        return node.get(key);
    }

    public boolean has(String key) {
        return node.has(key);
    }

    /** Records {@code value} as the resolved value of {@code key} (a key read through {@link #raw}). */
    public void put(String key, Object value) {
        known.add(key);
        if (value != null) resolved.put(key, value);
    }

    private <T> T record(String key, T value) {
        put(key, value);
        return value;
    }

    public String string(String key, String def) {
        return record(key, node.string(key, def));
    }

    public String choice(String key, String def, String... choices) {
        return record(key, node.choice(key, def, choices));
    }

    public String choice(String key, String def, Collection<String> choices) {
        return record(key, node.has(key) ? node.get(key).asChoice(choices) : def);
    }

    public int integer(String key, int def, int min, int max) {
        return record(key, node.integer(key, def, min, max));
    }

    public long longValue(String key, long def, long min, long max) {
        return record(key, node.longValue(key, def, min, max));
    }

    public double number(String key, double def, double min, double max) {
        return record(key, node.number(key, def, min, max));
    }

    public boolean bool(String key, boolean def) {
        return record(key, node.bool(key, def));
    }

    public double[] numbers(String key, double[] def, double min, double max) {
        double[] v = node.numbers(key, def, min, max);
        if (v == null) {
            known.add(key);
            return null;
        }
        List<Double> list = new ArrayList<>();
        for (double d : v) list.add(d);
        put(key, list);
        return v;
    }

    public int[] integers(String key, int[] def, int min, int max) {
        int[] v = node.integers(key, def, min, max);
        List<Integer> list = new ArrayList<>();
        for (int i : v) list.add(i);
        put(key, list);
        return v;
    }

    /** A path, relative to {@code base} unless absolute; null (and not recorded) when absent. */
    public Path path(String key, Path base) {
        if (!node.has(key)) {
            known.add(key);
            return null;
        }
        Path p = base.resolve(node.get(key).asString()).normalize();
        put(key, p.toString());
        return p;
    }

    /**
     * Leaves {@code keys} out of the resolved config (they were read, so they are still accepted): for
     * settings that do not apply, e.g. Adam's betas in an SGD run.
     */
    public void omit(String... keys) {
        for (String k : keys) resolved.remove(k);
    }

    /** Keeps only {@code keys} in the resolved config (the others were read and are still accepted). */
    public void keepOnly(java.util.Collection<String> keys) {
        resolved.keySet().retainAll(keys);
    }

    /** Rejects keys of this section, and of the sections read from it, that no line read. */
    public void rejectUnknown() {
        node.requireOnly(known);
        for (Section c : children) c.rejectUnknown();
    }

    /** What was read, with defaults filled in: nested maps, lists and scalars, in reading order. */
    public Map<String, Object> resolved() {
        return resolved;
    }
}
