package convnet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Real images for tests: from ../shared/datasets beside the checkout when it is there (CI has it), else from
 * the project's own samples/ where they hold the same kind of data; tests that need more are skipped with
 * the reason ({@link NeedsSharedData}).
 */
public final class TestData {
    private TestData() {}

    /** ../shared, or null on a checkout without it. */
    public static final Path SHARED = locate();

    /** Datasets the project's samples/ stand in for when ../shared is absent. */
    static final Map<String, Path> SAMPLES =
            Map.of("flowers5-128", Path.of("samples/flowers"), "predict-samples", Path.of("samples/predict"));

    static final String ABSENT =
            "../shared/datasets is not beside this checkout (it holds the large test data; see README, Tests)";

    private static Path locate() {
        for (Path p : List.of(Path.of("../shared"), Path.of("../../shared"))) {
            if (Files.isDirectory(p.resolve("datasets")))
                return p.toAbsolutePath().normalize();
        }
        return null;
    }

    public static boolean sharedPresent() {
        return SHARED != null;
    }

    /** ../shared/datasets (check {@link #sharedPresent}, or annotate the test {@link NeedsSharedData}). */
    public static Path datasets() {
        return SHARED != null ? SHARED.resolve("datasets") : Path.of("../shared/datasets");
    }

    /** A shared dataset's folder, or its stand-in from samples/; skips the test when there is neither. */
    public static Path dataset(String name) {
        if (SHARED != null) return datasets().resolve(name);
        Path sample = SAMPLES.get(name);
        Assumptions.assumeTrue(
                sample != null && Files.isDirectory(sample), ABSENT + "; no sample stands in for " + name);
        return sample.toAbsolutePath();
    }

    /** Copies the first {@code perClass} images (sorted by name) of each class of a dataset into {@code dest}. */
    public static Path subset(String dataset, Path dest, int perClass, String... classes) throws IOException {
        Path src = dataset(dataset);
        for (String c : classes) {
            Files.createDirectories(dest.resolve(c));
            try (Stream<Path> s = Files.list(src.resolve(c))) {
                for (Path f : s.sorted().limit(perClass).toList())
                    Files.copy(f, dest.resolve(c).resolve(f.getFileName()));
            }
        }
        return dest;
    }

    public static final String[] FLOWERS = {"daisy", "dandelion", "rose", "sunflower", "tulip"};
}
