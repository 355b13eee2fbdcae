package convnet;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@link Version#VERSION} (in ONNX metadata and {@code --version}) is the pom's version. */
class VersionTest {
    @Test
    void isThePomsVersion() throws Exception {
        String pom = Files.readString(Path.of("pom.xml"));
        assertTrue(
                pom.contains("<artifactId>convnet-parent</artifactId>\n  <version>" + Version.VERSION + "</version>"),
                "pom.xml's project version is not " + Version.VERSION);
    }
}
