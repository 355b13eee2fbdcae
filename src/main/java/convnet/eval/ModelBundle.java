package convnet.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import convnet.UserException;
import convnet.config.ConfigNode;
import convnet.config.Yamls;
import convnet.data.transform.Pipeline;
import convnet.io.AtomicFiles;
import convnet.io.Dirs;
import convnet.model.Arch;
import convnet.model.ModelSpec;
import convnet.model.Models;
import convnet.model.Net;
import convnet.weights.Safetensors;
import convnet.weights.StateDict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
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

    /** Reads {@code dir/model.json}; the network is built by {@link #loadNet}. */
    @SuppressWarnings("unchecked")
    public static ModelBundle read(Path dir) {
        Path json = dir.resolve(DESCRIPTION);
        if (!Files.isRegularFile(json))
            throw new UserException("no model bundle at " + dir + " (expected " + json + ")");
        Map<String, Object> m;
        try {
            m = JSON.readValue(json.toFile(), Map.class);
        } catch (IOException e) {
            throw new UserException(json + ": damaged model description: " + e.getMessage());
        }
        if (!FORMAT.equals(m.get("format")))
            throw new UserException(json + ": not a " + FORMAT + " file (format: " + m.get("format") + ")");
        ConfigNode root = Yamls.node(m, json.toString());
        ConfigNode model = root.get("model");
        String name = model.get("name").asChoice(Models.names());
        Arch arch = Models.preset(name).withOverrides(model.get("options"));
        List<String> classes = (List<String>) m.get("classes");
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
                f(root.numbers("mean", null, 0, 1)),
                f(root.numbers("std", null, 1e-9, 10)),
                Pipeline.fromConfig(root.get("eval_transforms"), size));
    }

    private static float[] f(double[] d) {
        return new float[] {(float) d[0], (float) d[1], (float) d[2]};
    }

    /** Builds the network and loads the bundle's weights into it (eval mode). Call outside a PointerScope. */
    public Net loadNet(Path dir) {
        Net net = spec.build(0);
        Safetensors.load(dir.resolve(WEIGHTS), StateDict.of(net));
        net.eval();
        return net;
    }
}
