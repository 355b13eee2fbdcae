package convnet.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads one mapping of a config and remembers which keys it read, so each key is named once — in the line that reads
 * it: the keys a section accepts are the keys it read ({@link #rejectUnknown}). Values are checked as they are read
 * (type, range, accepted words), with errors that name the file and line (or {@code --set}) and the key.
 */
public final class Section {
    private final ConfigNode node;
    private final Set<String> known = new LinkedHashSet<>();
    private final List<Section> children = new ArrayList<>();

    public Section(ConfigNode node) {
        this.node = node;
    }

    public ConfigNode node() {
        return node;
    }

    /** The child mapping under {@code key} (empty when absent), read as a nested section. */
    public Section section(String key) {
        known.add(key);
        Section child = new Section(node.get(key));
        children.add(child);
        return child;
    }

    /** The raw node under {@code key}, for values another builder parses (the key is accepted). */
    public ConfigNode raw(String key) {
        known.add(key);
        return node.get(key);
    }

    public boolean has(String key) {
        return node.has(key);
    }

    private <T> T read(String key, T value) {
        known.add(key);
        return value;
    }

    public String string(String key, String def) {
        return read(key, node.string(key, def));
    }

    public String choice(String key, String def, String... choices) {
        return read(key, node.choice(key, def, choices));
    }

    public String choice(String key, String def, Collection<String> choices) {
        return read(key, node.has(key) ? node.get(key).asChoice(choices) : def);
    }

    /** One of the constants of {@code def}'s enum, by its word; an error lists the words in declaration order. */
    public <E extends Enum<E> & Word> E choice(String key, E def) {
        return choice(key, def, List.of(def.getDeclaringClass().getEnumConstants()));
    }

    /** One of {@code accepted}, by its word; an error lists their words in this order. */
    public <E extends Word> E choice(String key, E def, List<E> accepted) {
        if (!node.has(key)) return read(key, def);
        List<String> words = accepted.stream().map(Word::word).toList();
        return read(key, accepted.get(words.indexOf(node.get(key).asChoice(words))));
    }

    public int integer(String key, int def, int min, int max) {
        return read(key, node.integer(key, def, min, max));
    }

    public long longValue(String key, long def, long min, long max) {
        return read(key, node.longValue(key, def, min, max));
    }

    public double number(String key, double def, double min, double max) {
        return read(key, node.number(key, def, min, max));
    }

    public boolean bool(String key, boolean def) {
        return read(key, node.bool(key, def));
    }

    public double[] numbers(String key, double[] def, double min, double max) {
        return read(key, node.numbers(key, def, min, max));
    }

    public int[] integers(String key, int[] def, int min, int max) {
        return read(key, node.integers(key, def, min, max));
    }

    /** A path, relative to {@code base} unless absolute; null when absent. */
    public Path path(String key, Path base) {
        if (!node.has(key)) return read(key, null);
        return read(key, base.resolve(node.get(key).asString()).normalize());
    }

    /** Rejects keys of this section, and of the sections read from it, that no line read. */
    public void rejectUnknown() {
        node.requireOnly(known);
        for (Section c : children) c.rejectUnknown();
    }
}
