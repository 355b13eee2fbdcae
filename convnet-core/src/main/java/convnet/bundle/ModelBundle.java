package convnet.bundle;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import convnet.UserException;
import convnet.config.ConfigNode;
import convnet.config.YamlMaps;
import convnet.data.transform.Pipeline;
import convnet.io.AtomicFiles;
import convnet.io.Dirs;
import convnet.model.Arch;
import convnet.model.Layers;
import convnet.model.ModelSpec;
import convnet.model.Models;
import convnet.model.Net;
import convnet.weights.Safetensors;
import convnet.weights.StateDict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A trained model as a folder that test, predict and Java code load: {@code weights.safetensors}
 * (torchvision-style names) and {@code model.json} (architecture, class names, input size,
 * normalisation and evaluation transforms).
 */
public record ModelBundle(
        ModelSpec spec, List<String> classes, int imageSize, float[] mean, float[] std, Pipeline evalTransforms) {
    public static final String FORMAT = "convnet-model/1";
    private static final String DESCRIPTION = "model.json", WEIGHTS = "weights.safetensors";
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Writes weights first, then the description, each atomically. */
    public void save(Path dir, Net net) {
        Safetensors.write(dir.resolve(WEIGHTS), StateDict.of(net), Map.of("format", "pt", "convnet", FORMAT));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("model", spec.toMap());
        m.put("classes", classes);
        m.put("image_size", imageSize);
        m.put("mean", floats(mean));
        m.put("std", floats(std));
        m.put("eval_transforms", evalTransforms.toList());
        try {
            AtomicFiles.writeString(dir.resolve(DESCRIPTION), JSON.writeValueAsString(m));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether {@code dir} holds a bundle's description. */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(DESCRIPTION));
    }

    /** Removes a bundle's files (and their temporary files) from {@code dir}, then the folder if that left it empty; anything else stays. */
    public static void delete(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                for (String own : new String[] {DESCRIPTION, WEIGHTS})
                    if (n.equals(own) || n.startsWith("." + own + ".") && n.endsWith(".tmp")) Files.delete(p);
            }
        }
        Dirs.deleteIfEmpty(dir);
    }

    private static List<Double> floats(float[] f) {
        return List.of((double) f[0], (double) f[1], (double) f[2]);
    }

    /**
     * Reads {@code dir/model.json}; the network is built by {@link #loadNet}. A missing or mistyped key is an
     * error that names the file, the key and what was expected.
     */
    @SuppressWarnings("unchecked")
    public static ModelBundle read(Path dir) {
        Path json = dir.resolve(DESCRIPTION);
        if (!Files.isRegularFile(json))
            throw new UserException("no model bundle at " + dir + " (expected " + json + ")");
        ConfigNode root;
        try {
            root = ConfigNode.parse(
                    Files.readString(json), json.toString()); // JSON is YAML: errors get the file's own lines
        } catch (UserException notYaml) { // e.g. tabs, which JSON allows
            try {
                root = YamlMaps.node(JSON.readValue(json.toFile(), Map.class), json.toString());
            } catch (IOException e) {
                throw new UserException(json + ": damaged model description: " + e.getMessage());
            }
        } catch (IOException e) {
            throw new UserException("cannot read " + json + ": " + e.getMessage());
        }
        String format = root.has("format") ? root.get("format").asString() : null;
        if (!FORMAT.equals(format))
            throw new UserException(json + ": not a " + FORMAT + " file (format: " + format + ")");
        ConfigNode model = required(root, "model");
        String name = required(model, "name").asChoice(Models.names());
        Arch arch = Models.preset(name).withOverrides(model.get("options"));
        List<String> classes = new ArrayList<>();
        for (ConfigNode c : required(root, "classes").asList()) classes.add(c.asString());
        if (classes.size() < 2) throw root.get("classes").error("expected the names of at least two classes");
        int size = root.integer("image_size", 224, 8, 4096);
        ModelSpec spec = new ModelSpec(
                name,
                arch,
                classes.size(),
                model.get("init").string("conv", "kaiming"),
                model.get("init").string("linear", "normal"));
        return new ModelBundle(
                spec,
                classes,
                size,
                rgb(root, "mean", 0, 1),
                rgb(root, "std", 1e-9, 10),
                Pipeline.fromConfig(required(root, "eval_transforms"), size));
    }

    private static ConfigNode required(ConfigNode n, String key) {
        if (!n.has(key)) throw n.error("has no '" + key + "' (required)");
        return n.get(key);
    }

    private static float[] rgb(ConfigNode root, String key, double min, double max) {
        double[] v = required(root, key).isList() ? root.numbers(key, null, min, max) : null;
        if (v == null || v.length != 3) throw root.get(key).error("expected three numbers (R, G, B)");
        return f(v);
    }

    private static float[] f(double[] d) {
        return new float[] {(float) d[0], (float) d[1], (float) d[2]};
    }

    /**
     * Writes {@code net}'s weights as safetensors with torchvision's names, the model's name and classes in the
     * metadata (load in Python with {@code safetensors.torch.load_file}).
     */
    public void exportSafetensors(Path out, Net net) {
        Safetensors.write(
                out,
                StateDict.of(net),
                Map.of("format", "pt", "model", spec.name(), "classes", String.join(",", classes)));
    }

    /** Builds the network and loads the bundle's weights into it (eval mode). Call outside a PointerScope. */
    public Net loadNet(Path dir) {
        Net net =
                Layers.uninitialised(() -> spec.build(0)); // every tensor is overwritten from the file: no init needed
        Safetensors.load(dir.resolve(WEIGHTS), StateDict.of(net));
        net.eval();
        return net;
    }
}
