package convnet.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code convnet doctor} end to end: real child JVMs running real training steps, a real native crash (the hidden
 * {@code --crash-test} writes to address 16 in native code) and a real engine error (an image too small for VGG's
 * pools). Each model runs in fp32 and, on a CPU with native bf16, in bf16-mixed too.
 */
class DoctorTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aModelThatTrainsIsOkWithItsMillisecondsAndTheMachineIsDescribed() throws Exception {
        Cli.Out o = Cli.run(
                "doctor",
                "--models",
                "preact_resnet20_cifar",
                "--size",
                "32",
                "--batch",
                "2",
                "--steps",
                "2",
                "--threads",
                "2",
                "--json");
        assertEquals(0, o.code(), o.stdout() + o.stderr());
        JsonNode doc = JSON.readTree(o.stdout()); // stdout holds the one document and nothing else
        JsonNode m = doc.get("machine");
        assertEquals("2.10.0", m.get("libtorch").asText());
        assertTrue(m.get("onednn").asText().matches("\\d+\\.\\d+.*"), m.toString());
        assertEquals(2, m.get("compute_threads").asInt());
        assertTrue(m.get("flags").has("avx512_bf16"), m.toString());
        assertFalse(m.get("auto_reason").asText().isBlank());
        assertTrue(doc.get("ok").asBoolean());
        assertTrue(doc.get("logs").isNull(), "nothing kept when all is well");
        JsonNode checks = doc.get("checks");
        assertEquals(m.get("auto_precision").asText().equals("32") ? 1 : 2, checks.size(), checks.toString());
        assertEquals("32", checks.get(0).get("precision").asText());
        for (JsonNode c : checks) {
            assertEquals("ok", c.get("status").asText(), c.toString());
            assertTrue(c.get("ms_per_step").asDouble() > 0, c.toString());
            assertEquals(2, c.get("steps_ms").size());
        }
    }

    @Test
    void aNativeCrashIsReportedWithItsSignalAndFrameAndExitsOne() throws Exception {
        Cli.Out o = Cli.run(
                "doctor",
                "--models",
                "vgg11_bn_gap",
                "--size",
                "16",
                "--batch",
                "1",
                "--steps",
                "1",
                "--threads",
                "2",
                "--crash-test");
        assertEquals(1, o.code(), o.stdout() + o.stderr());
        String row = o.stdout()
                .lines()
                .filter(l -> l.startsWith("vgg11_bn_gap "))
                .findFirst()
                .orElseThrow(() -> new AssertionError(o.stdout()));
        assertTrue(row.matches("vgg11_bn_gap +32 +crashed +SIGSEGV in libc\\S*\\+0x[0-9a-f]+.*"), row);
        assertTrue(
                o.stdout().contains("called from org.bytedeco.javacpp.Pointer.memset, from convnet.doctor."),
                o.stdout());
        assertFalse(o.stdout().contains("A fatal error has been detected"), "the child's output is not shown raw");
        Path kept = keptFolder(o.stdout());
        try (Stream<Path> files = Files.list(kept)) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().matches("hs_err_\\d+\\.log")), kept.toString());
        }
        deleteTree(kept);
    }

    /**
     * The lower instruction-set paths that only older CPUs take, on any machine: every family's training step with
     * oneDNN held to SSE4.1 and to AVX2, each in its own JVM (fp32: below AVX-512 bf16 is emulated, and {@code auto}
     * never picks it there).
     */
    @ParameterizedTest
    @ValueSource(strings = {"SSE41", "AVX2"})
    void everyFamilyTrainsOnTheLowerInstructionSets(String isa) throws Exception {
        Cli.Out o = Cli.run(
                "doctor",
                "--isa",
                isa,
                "--precisions",
                "32",
                "--size",
                "32",
                "--batch",
                "2",
                "--steps",
                "1",
                "--threads",
                "2",
                "--json");
        JsonNode doc = JSON.readTree(o.stdout());
        JsonNode checks = doc.get("checks");
        assertEquals(Doctor.FAMILIES.size(), checks.size(), checks.toString());
        for (JsonNode c : checks) assertEquals("ok", c.get("status").asText(), isa + ": " + c);
        assertEquals(isa, doc.get("settings").get("isa").asText());
        assertEquals(0, o.code(), o.stderr());
    }

    @Test
    void anEngineErrorIsOneLineAndExitsOne() throws Exception {
        // 8 px halves to 1 after three of VGG A's five pools: the fourth has nothing to pool
        Cli.Out o = Cli.run(
                "doctor",
                "--models",
                "vgg11_bn_gap",
                "--size",
                "8",
                "--batch",
                "1",
                "--steps",
                "1",
                "--threads",
                "2",
                "--json");
        assertEquals(1, o.code(), o.stdout() + o.stderr());
        JsonNode doc = JSON.readTree(o.stdout());
        assertFalse(doc.get("ok").asBoolean());
        for (JsonNode c : doc.get("checks")) {
            assertEquals("error", c.get("status").asText(), c.toString());
            String message = c.get("message").asText();
            assertTrue(message.contains("too small"), message);
            assertFalse(message.contains("\n") || message.contains("Exception raised from"), message);
        }
        Path kept = Path.of(doc.get("logs").asText());
        assertTrue(Files.isDirectory(kept));
        deleteTree(kept);
    }

    @Test
    void anUnknownModelIsAUserErrorBeforeAnythingRuns() {
        Cli.Out o = Cli.run("doctor", "--models", "vgg11_bn,nope");
        assertEquals(2, o.code());
        assertEquals("", o.stdout());
        assertEquals(1, o.stderr().strip().lines().count(), o.stderr());
        assertTrue(o.stderr().contains("unknown model 'nope'"), o.stderr());
        Cli.Out isa = Cli.run("doctor", "--isa", "avx3");
        assertEquals(2, isa.code());
        assertTrue(isa.stderr().contains("--isa AVX3: oneDNN knows SSE41, AVX, AVX2"), isa.stderr());
    }

    private static Path keptFolder(String stdout) {
        String marker = "crash reports are kept in ";
        int i = stdout.indexOf(marker);
        assertTrue(i >= 0, stdout);
        Path p = Path.of(stdout.substring(i + marker.length())
                .lines()
                .findFirst()
                .orElseThrow()
                .strip());
        assertNotNull(p);
        assertTrue(Files.isDirectory(p), p.toString());
        return p;
    }

    private static void deleteTree(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
