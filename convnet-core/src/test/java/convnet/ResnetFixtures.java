package convnet;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * The torchvision ResNet fixtures that {@code scripts/make_resnet_fixtures.py} makes (45 and 95 MB, not committed):
 * in {@code $CONVNET_RESNET_FIXTURES}, else {@code target/fixtures/resnet}; {@code .ci/run} makes them before the
 * tests. A test that needs them is skipped, with the reason and the command, where they are absent.
 */
public final class ResnetFixtures {
    private ResnetFixtures() {}

    public static Path dir() {
        String env = System.getenv("CONVNET_RESNET_FIXTURES");
        return (env != null && !env.isBlank() ? Path.of(env) : Path.of("target/fixtures/resnet")).toAbsolutePath();
    }

    /** {@code name} in the fixtures' folder; skips the test when it is not there. */
    public static Path file(String name) {
        Path p = dir().resolve(name);
        Assumptions.assumeTrue(
                Files.isRegularFile(p),
                p + " is absent: make the torchvision ResNet fixtures with"
                        + " `/usr/bin/python3 scripts/make_resnet_fixtures.py` (needs apt-get install python3-torchvision)"
                        + " or point $CONVNET_RESNET_FIXTURES at them");
        return p;
    }
}
