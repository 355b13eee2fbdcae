package convnet.config;

import convnet.UserException;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * A view of one YAML node that knows where it came from (file and line, or a {@code --set}
 * override) and its key path, so every validation error can name both. Typed getters check the type
 * and range; {@link #requireOnly} rejects unknown keys.
 */
public final class ConfigNode {
    private final Node node;
    private final String path; // e.g. "train.optimizer.lr"
    private final String source; // e.g. "configs/quickstart.yaml"
    private final Map<Node, String> overrides; // nodes that came from --set, with their text

    private ConfigNode(Node node, String path, String source, Map<Node, String> overrides) {
        this.node = node;
        this.path = path;
        this.source = source;
        this.overrides = overrides;
    }

    /** Parses YAML text; {@code source} names it in errors. An empty document is an empty mapping. */
    public static ConfigNode parse(String text, String source) {
        Node root;
        try {
            root = newYaml().compose(new StringReader(text));
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() != null ? e.getProblemMark().getLine() + 1 : 0;
            throw new UserException(source + (line > 0 ? " line " + line : "") + ": not valid YAML: " + e.getProblem());
        } catch (YAMLException e) {
            throw new UserException(source + ": not valid YAML: " + e.getMessage());
        }
        if (root == null) {
            root = new MappingNode(Tag.MAP, new ArrayList<>(), DumperOptions.FlowStyle.BLOCK);
        }
        if (!(root instanceof MappingNode)) {
            throw new UserException(source + ": expected a mapping of keys at the top level");
        }
        return new ConfigNode(root, "", source, new LinkedHashMap<>());
    }

    public static ConfigNode load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new UserException("config file not found: " + file);
        }
        try {
            return parse(Files.readString(file), file.toString());
        } catch (MalformedInputException e) {
            throw new UserException(file + ": not UTF-8 text (save the config as UTF-8)");
        } catch (IOException e) {
            throw new UserException("cannot read config file " + file + ": " + e.getMessage());
        }
    }

    private static Yaml newYaml() {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(20);
        return new Yaml(new SafeConstructor(options));
    }

    /** Applies {@code key.path=value} (the value is read as YAML: numbers, booleans, lists work). */
    public void set(String assignment) {
        int eq = assignment.indexOf('=');
        if (eq <= 0) {
            throw new UserException("--set " + assignment + ": expected key.path=value");
        }
        String key = assignment.substring(0, eq).trim();
        String valueText = assignment.substring(eq + 1);
        Node value;
        try {
            value = newYaml().compose(new StringReader(valueText));
        } catch (YAMLException e) {
            throw new UserException("--set " + key + ": value is not valid YAML: " + valueText);
        }
        if (value == null) value = new ScalarNode(Tag.NULL, "null", null, null, DumperOptions.ScalarStyle.PLAIN);
        markOverride(value, "--set " + key);
        MappingNode map = (MappingNode) node;
        String[] parts = key.split("\\.");
        for (int i = 0; i < parts.length; i++) {
            boolean last = i == parts.length - 1;
            NodeTuple found = null;
            for (NodeTuple t : map.getValue()) {
                if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(parts[i])) found = t;
            }
            if (last) {
                ScalarNode keyNode = new ScalarNode(Tag.STR, parts[i], null, null, DumperOptions.ScalarStyle.PLAIN);
                overrides.put(keyNode, "--set " + key); // an unknown key is blamed on --set, not on the file
                NodeTuple tuple = new NodeTuple(keyNode, value);
                if (found != null) map.getValue().set(map.getValue().indexOf(found), tuple);
                else map.getValue().add(tuple);
            } else {
                if (found == null) {
                    MappingNode child = new MappingNode(Tag.MAP, new ArrayList<>(), DumperOptions.FlowStyle.BLOCK);
                    markOverride(child, "--set " + key);
                    ScalarNode keyNode = new ScalarNode(Tag.STR, parts[i], null, null, DumperOptions.ScalarStyle.PLAIN);
                    overrides.put(keyNode, "--set " + key);
                    map.getValue().add(new NodeTuple(keyNode, child));
                    map = child;
                } else if (found.getValueNode() instanceof MappingNode m) {
                    map = m;
                } else {
                    throw new UserException("--set " + key + ": '" + String.join(".", Arrays.copyOf(parts, i + 1))
                            + "' is not a section");
                }
            }
        }
    }

    private void markOverride(Node n, String text) {
        overrides.put(n, text);
        if (n instanceof MappingNode m) for (NodeTuple t : m.getValue()) markOverride(t.getValueNode(), text);
        if (n instanceof SequenceNode s) for (Node c : s.getValue()) markOverride(c, text);
    }

    /** Where this node came from: "file line N" or "--set key". */
    public String where() {
        String o = overrides.get(node);
        if (o != null) return o;
        if (node.getStartMark() == null) return source;
        return source + " line " + (node.getStartMark().getLine() + 1);
    }

    public String path() {
        return path;
    }

    private String child(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    public UserException error(String what) {
        return new UserException(where() + ": " + (path.isEmpty() ? "" : "'" + path + "' ") + what);
    }

    private Map<String, NodeTuple> tuples() {
        if (!(node instanceof MappingNode m)) {
            throw error("expected a section of keys, found " + kindOf(node));
        }
        Map<String, NodeTuple> out = new LinkedHashMap<>();
        for (NodeTuple t : m.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k)) {
                throw new ConfigNode(t.getKeyNode(), path, source, overrides).error("keys must be plain names");
            }
            NodeTuple earlier = out.put(k.getValue(), t);
            if (earlier != null) {
                Node first = earlier.getKeyNode();
                throw new ConfigNode(t.getKeyNode(), child(k.getValue()), source, overrides)
                        .error("appears twice in one section"
                                + (first.getStartMark() != null
                                        ? " (first on line "
                                                + (first.getStartMark().getLine() + 1) + ")"
                                        : "")
                                + "; keep one");
            }
        }
        return out;
    }

    public boolean isMapping() {
        return node instanceof MappingNode;
    }

    public boolean isList() {
        return node instanceof SequenceNode;
    }

    public boolean isNull() {
        return node instanceof ScalarNode s && s.getTag().equals(Tag.NULL);
    }

    /** The keys of this section, in file order. */
    public List<String> keys() {
        return new ArrayList<>(tuples().keySet());
    }

    public boolean has(String key) {
        NodeTuple t = tuples().get(key);
        return t != null
                && !(t.getValueNode() instanceof ScalarNode s && s.getTag().equals(Tag.NULL));
    }

    /** The child section or value under {@code key}; an empty section if it is absent. */
    public ConfigNode get(String key) {
        NodeTuple t = tuples().get(key);
        if (t == null) {
            MappingNode empty = new MappingNode(
                    Tag.MAP,
                    true,
                    new ArrayList<>(),
                    node.getStartMark(),
                    node.getEndMark(),
                    DumperOptions.FlowStyle.BLOCK);
            return new ConfigNode(empty, child(key), source, overrides);
        }
        Node value = t.getValueNode();
        if (overrides.containsKey(t.getKeyNode())) overrides.put(value, overrides.get(t.getKeyNode()));
        return new ConfigNode(value, child(key), source, overrides);
    }

    /** Rejects keys of this section that are not in {@code allowed}. */
    public ConfigNode requireOnly(Collection<String> allowed) {
        for (Map.Entry<String, NodeTuple> e : tuples().entrySet()) {
            if (!allowed.contains(e.getKey())) {
                ConfigNode bad = new ConfigNode(e.getValue().getKeyNode(), child(e.getKey()), source, overrides);
                throw bad.error("unknown key (expected one of: " + String.join(", ", new TreeSet<>(allowed)) + ")");
            }
        }
        return this;
    }

    public ConfigNode requireOnly(String... allowed) {
        return requireOnly(List.of(allowed));
    }

    private static String kindOf(Node n) {
        if (n instanceof MappingNode) return "a section";
        if (n instanceof SequenceNode) return "a list";
        ScalarNode s = (ScalarNode) n;
        return "'" + s.getValue() + "'";
    }

    private String scalar(String expected) {
        if (!(node instanceof ScalarNode s)) {
            throw error("expected " + expected + ", found " + kindOf(node));
        }
        return s.getValue();
    }

    // ---- typed values of this node ----

    public String asString() {
        return scalar("a text value");
    }

    public String asChoice(Collection<String> choices) {
        String v = scalar("one of " + String.join(", ", choices));
        if (!choices.contains(v)) throw error("expected one of " + String.join(", ", choices) + ", found '" + v + "'");
        return v;
    }

    public long asLong(long min, long max) {
        String v = scalar("a whole number");
        long x;
        try {
            x = Long.parseLong(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw error("expected a whole number, found '" + v + "'");
        }
        if (x < min || x > max) throw error("expected a whole number in [" + min + ", " + max + "], found " + x);
        return x;
    }

    public int asInt(int min, int max) {
        return (int) asLong(min, max);
    }

    public double asDouble(double min, double max) {
        String v = scalar("a number");
        double x;
        try {
            x = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw error("expected a number, found '" + v + "'");
        }
        if (!(x >= min && x <= max)) throw error("expected a number in [" + min + ", " + max + "], found " + v);
        return x;
    }

    public boolean asBoolean() {
        String v = scalar("true or false");
        return switch (v.toLowerCase()) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw error("expected true or false, found '" + v + "'");
        };
    }

    public List<ConfigNode> asList() {
        if (!(node instanceof SequenceNode s)) throw error("expected a list, found " + kindOf(node));
        List<ConfigNode> out = new ArrayList<>();
        for (int i = 0; i < s.getValue().size(); i++) {
            Node c = s.getValue().get(i);
            if (overrides.containsKey(node) && !overrides.containsKey(c)) overrides.put(c, overrides.get(node));
            out.add(new ConfigNode(c, path + "[" + i + "]", source, overrides));
        }
        return out;
    }

    // ---- typed values of children, with defaults ----

    public String string(String key, String def) {
        return has(key) ? get(key).asString() : def;
    }

    public String choice(String key, String def, String... choices) {
        return has(key) ? get(key).asChoice(List.of(choices)) : def;
    }

    public int integer(String key, int def, int min, int max) {
        return has(key) ? get(key).asInt(min, max) : def;
    }

    public long longValue(String key, long def, long min, long max) {
        return has(key) ? get(key).asLong(min, max) : def;
    }

    public double number(String key, double def, double min, double max) {
        return has(key) ? get(key).asDouble(min, max) : def;
    }

    public boolean bool(String key, boolean def) {
        return has(key) ? get(key).asBoolean() : def;
    }

    /** A list of numbers, or {@code def} if absent. */
    public double[] numbers(String key, double[] def, double min, double max) {
        if (!has(key)) return def;
        List<ConfigNode> items = get(key).asList();
        double[] out = new double[items.size()];
        for (int i = 0; i < out.length; i++) out[i] = items.get(i).asDouble(min, max);
        return out;
    }

    public int[] integers(String key, int[] def, int min, int max) {
        if (!has(key)) return def;
        List<ConfigNode> items = get(key).asList();
        int[] out = new int[items.size()];
        for (int i = 0; i < out.length; i++) out[i] = items.get(i).asInt(min, max);
        return out;
    }
}
