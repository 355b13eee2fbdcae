package convnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** precision: auto picks bf16-mixed only where the CPU computes bfloat16 natively. */
class PrecisionTest {
    @Test
    void autoFollowsTheCpuFlags() {
        assertEquals(
                Precision.BF16_MIXED,
                Precision.choose("auto", Set.of("avx2", "avx512f", "avx512_bf16"))
                        .precision());
        assertEquals(
                Precision.BF16_MIXED,
                Precision.choose("auto", Set.of("amx_bf16", "amx_tile")).precision());
        Precision.Choice none = Precision.choose("auto", Set.of("avx2", "avx512f", "avx512_vnni"));
        assertEquals(Precision.FP32, none.precision(), "AVX-512 without bf16 emulates it: about 30 times slower");
        assertTrue(none.reason().contains("neither avx512_bf16 nor amx_bf16"), none.reason());
        assertEquals(Precision.FP32, Precision.choose("auto", Set.of()).precision(), "flags unknown: the safe choice");
        assertEquals(
                Precision.FP16_MIXED,
                Precision.choose("16-mixed", Set.of("avx512_bf16")).precision(),
                "an explicit word wins");
    }

    @Test
    void thisMachinesFlagsAreRead() {
        Set<String> flags = Precision.cpuFlags();
        if (Files.isReadable(Path.of("/proc/cpuinfo"))) {
            assertTrue(
                    flags.contains("fpu") || flags.contains("sse2") || flags.contains("fp"),
                    "read: " + flags.size() + " flags");
        }
        Precision.Choice c = Precision.choose("auto", flags);
        assertEquals(
                flags.contains("avx512_bf16") || flags.contains("amx_bf16"),
                c.precision() == Precision.BF16_MIXED,
                c.reason());
    }
}
