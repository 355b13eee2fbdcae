package convnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The package layering of docs/architecture.md, read from the sources themselves (import lines and fully qualified
 * names in code): every dependency points down the list, so there are no cycles; packages on the same
 * level (model and data; engine and io) do not use each other.
 */
class ArchitectureTest {
    /** Top to bottom; packages in one row are on the same level. The root package (UserException) is below all. */
    static final List<List<String>> LAYERS = List.of(
            List.of("cli"),
            List.of("doctor"),
            List.of("bench"),
            List.of("serve"),
            List.of("run"),
            List.of("report"),
            List.of("train"),
            List.of("eval"),
            List.of("bundle"),
            List.of("weights"),
            List.of("model", "data"),
            List.of("config"),
            List.of("engine", "io"),
            List.of(""));

    static final Pattern REFERENCE = Pattern.compile("\\bconvnet\\.([a-z][a-z0-9_]*)\\.(?:[a-z][a-z0-9_]*\\.)*[A-Z]");
    static final Pattern ROOT_REFERENCE = Pattern.compile("\\bconvnet\\.[A-Z]");

    static int level(String pkg) {
        for (int i = 0; i < LAYERS.size(); i++) if (LAYERS.get(i).contains(pkg)) return i;
        return -1;
    }

    /** Package → the packages it uses, with the files that use them. */
    /** The sources of both modules, read from the repository root (the tests' working directory). */
    static final List<Path> ROOTS =
            List.of(Path.of("convnet-core/src/main/java/convnet"), Path.of("convnet-cli/src/main/java/convnet"));

    static Map<String, Map<String, Set<String>>> graph() throws Exception {
        Map<String, Map<String, Set<String>>> g = new TreeMap<>();
        for (Path root : ROOTS) graph(root, g);
        return g;
    }

    static void graph(Path root, Map<String, Map<String, Set<String>>> g) throws Exception {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Path rel = root.relativize(f);
                String pkg = rel.getNameCount() > 1 ? rel.getName(0).toString() : "";
                String code =
                        Files.readString(f).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
                Map<String, Set<String>> uses = g.computeIfAbsent(pkg, k -> new TreeMap<>());
                Matcher m = REFERENCE.matcher(code);
                while (m.find())
                    if (!m.group(1).equals(pkg))
                        uses.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(rel.toString());
                if (!pkg.isEmpty() && ROOT_REFERENCE.matcher(code).find())
                    uses.computeIfAbsent("", k -> new TreeSet<>()).add(rel.toString());
            }
        }
    }

    /** The library module holds no command-line or logging-backend code: it needs slf4j-api only. */
    @Test
    void theCoreModuleHasNoCliOrLoggingBackend() throws Exception {
        Map<String, Map<String, Set<String>>> core = new TreeMap<>();
        graph(ROOTS.get(0), core);
        assertFalse(
                core.containsKey("cli") || core.containsKey("doctor") || core.containsKey("bench"),
                core.keySet().toString());
        try (Stream<Path> files = Files.walk(ROOTS.get(0))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String code = Files.readString(f);
                assertFalse(code.contains("ch.qos.logback") || code.contains("picocli"), f.toString());
            }
        }
    }

    @Test
    void everyDependencyPointsDownTheLayers() throws Exception {
        Map<String, Map<String, Set<String>>> g = graph();
        assertTrue(
                g.keySet().containsAll(List.of("cli", "run", "train", "eval", "model", "data", "config", "engine")),
                "sources not found: " + g.keySet());
        List<String> wrong = new ArrayList<>();
        for (var e : g.entrySet()) {
            if (level(e.getKey()) < 0)
                wrong.add("package '" + e.getKey()
                        + "' has no place in ArchitectureTest.LAYERS (and docs/architecture.md)");
            for (var use : e.getValue().entrySet()) {
                int from = level(e.getKey()), to = level(use.getKey());
                if (to < 0 || to <= from) {
                    wrong.add(e.getKey() + " -> " + use.getKey() + " (" + String.join(", ", use.getValue()) + ")");
                }
            }
        }
        assertEquals(List.of(), wrong, "dependencies that point up or sideways");
    }

    @Test
    void theNamedForbiddenEdgesAreAbsent() throws Exception {
        Map<String, Map<String, Set<String>>> g = graph();
        for (String[] edge : new String[][] {
            {"train", "report"},
            {"eval", "train"},
            {"config", "model"},
            {"config", "data"},
            {"model", "data"},
            {"data", "model"},
            {"train", "run"},
            {"eval", "run"}
        }) {
            assertTrue(
                    !g.getOrDefault(edge[0], Map.of()).containsKey(edge[1]),
                    edge[0] + " must not use " + edge[1] + ": "
                            + g.getOrDefault(edge[0], Map.of()).get(edge[1]));
        }
        for (var e : g.entrySet())
            assertTrue(e.getKey().equals("cli") || !e.getValue().containsKey("cli"), e.getKey() + " must not use cli");
    }

    /** The check itself can fail: an edge that points up is found. */
    @Test
    void anUpwardEdgeIsCaught(@TempDir Path tmp) throws Exception {
        Files.createDirectories(tmp.resolve("train"));
        Files.writeString(
                tmp.resolve("train/X.java"),
                "package convnet.train;\nimport convnet.report.MetricsCsv;\nclass X { convnet.run.RunDir d; }\n");
        Map<String, Map<String, Set<String>>> g = new TreeMap<>();
        graph(tmp, g);
        assertEquals(Set.of("report", "run"), g.get("train").keySet());
        assertTrue(level("train") < level("eval") && level("report") < level("train"));
    }
}
