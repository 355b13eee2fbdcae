package convnet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Real images from ../shared/datasets, copied into temporary folders for tests. */
public final class TestData {
    private TestData() {}

    public static final Path SHARED = locate();

    private static Path locate() {
        for (Path p : List.of(Path.of("../shared"), Path.of("../../shared"))) {
            if (Files.isDirectory(p.resolve("datasets")))
                return p.toAbsolutePath().normalize();
        }
        throw new IllegalStateException("../shared/datasets not found beside the checkout");
    }

    public static Path datasets() {
        return SHARED.resolve("datasets");
    }

    /** Copies the first {@code perClass} images (sorted by name) of each class of a shared dataset into {@code dest}. */
    public static Path subset(String dataset, Path dest, int perClass, String... classes) throws IOException {
        Path src = datasets().resolve(dataset);
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
