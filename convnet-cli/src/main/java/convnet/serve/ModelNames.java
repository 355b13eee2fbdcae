package convnet.serve;

import convnet.UserException;
import convnet.bundle.ModelBundle;
import convnet.run.RunDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Model names from command-line arguments. */
final class ModelNames {
    private ModelNames() {}

    /** See {@link ModelServer#namedRuns}. */
    static Map<String, Path> of(List<String> args) {
        Map<String, Path> out = new LinkedHashMap<>();
        for (String arg : args) {
            String name;
            Path path;
            int eq = arg.indexOf('=');
            if (eq > 0 && !Files.exists(Path.of(arg))) {
                name = arg.substring(0, eq);
                path = Path.of(arg.substring(eq + 1));
            } else {
                path = Path.of(arg);
                name = modelName(path);
            }
            if (name.isEmpty() || name.contains("/") || name.chars().anyMatch(Character::isISOControl))
                throw new UserException("'" + name + "' (from " + arg + ") cannot be a model name: it is empty or"
                        + " holds a '/' or a control character; name it with NAME=PATH");
            if (out.put(name, path) != null)
                throw new UserException(
                        "two models are named '" + name + "'; give them different names with NAME=PATH");
        }
        return out;
    }

    static String modelName(Path path) {
        Path p = path.toAbsolutePath().normalize();
        if (RunDir.isModelFolderName(p)
                && p.getParent() != null
                && p.getParent().getFileName() != null
                && ModelBundle.exists(p)) p = p.getParent();
        return p.getFileName() == null ? "" : p.getFileName().toString();
    }
}
