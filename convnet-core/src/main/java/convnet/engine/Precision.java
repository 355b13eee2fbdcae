package convnet.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.bytedeco.pytorch.global.torch;

/**
 * Mixed precision as one word, as Lightning spells it: {@code 32}, {@code bf16-mixed} or
 * {@code 16-mixed}. With the mixed ones the forward pass runs under CPU autocast to bfloat16 or
 * float16 while the weights, gradients and optimizer state stay float32; float16 also needs a
 * {@link LossScaler} (its range is narrow), which the trainer adds. The autocast weight cache is
 * cleared when the outermost region ends, so a cast copy never outlives an optimizer step.
 */
public enum Precision {
    FP32("32", null),
    BF16_MIXED("bf16-mixed", torch.ScalarType.BFloat16),
    FP16_MIXED("16-mixed", torch.ScalarType.Half);

    public final String word;
    private final torch.ScalarType dtype;

    Precision(String word, torch.ScalarType dtype) {
        this.word = word;
        this.dtype = dtype;
    }

    /** Reads {@code 32}, {@code bf16-mixed}, {@code 16-mixed} (or the short forms {@code bf16}, {@code 16}, {@code fp16}). */
    public static Precision of(String word) {
        if (word.equals("bf16")) return BF16_MIXED;
        if (word.equals("16") || word.equals("fp16")) return FP16_MIXED;
        for (Precision p : values()) if (p.word.equals(word)) return p;
        throw new convnet.UserException("unknown precision '" + word + "' (expected 32, bf16-mixed or 16-mixed)");
    }

    /** A precision chosen for this machine, and why. */
    public record Choice(Precision precision, String reason) {}

    /**
     * {@code auto}: bf16-mixed where the CPU computes bfloat16 natively (avx512_bf16 or AMX), else 32 —
     * without that support oneDNN emulates bf16 and a step is about 30× slower. Any other word as {@link #of}.
     */
    public static Choice choose(String word, Set<String> cpuFlags) {
        if (!word.equals("auto")) return new Choice(of(word), "as configured");
        for (String f : new String[] {"amx_bf16", "avx512_bf16"}) {
            if (cpuFlags.contains(f)) return new Choice(BF16_MIXED, "auto: the CPU has " + f);
        }
        return new Choice(
                FP32, "auto: the CPU has neither avx512_bf16 nor amx_bf16, so bf16 would be emulated and far slower");
    }

    /** The CPU's feature flags (from /proc/cpuinfo; empty where that cannot be read). */
    public static Set<String> cpuFlags() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("flags"))
                    .findFirst()
                    .map(l -> Set.of(l.substring(l.indexOf(':') + 1).trim().split("\\s+")))
                    .orElse(Set.of());
        } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
            return Set.of();
        }
    }

    /** Whether gradients need loss scaling (float16 only). */
    public boolean scalesLoss() {
        return this == FP16_MIXED;
    }

    public <T> T forward(Supplier<T> work) {
        if (this == FP32) return work.get();
        boolean was = torch.is_autocast_enabled(torch.DeviceType.CPU);
        torch.set_autocast_enabled(torch.DeviceType.CPU, true);
        torch.set_autocast_dtype(torch.DeviceType.CPU, dtype);
        torch.increment_nesting();
        try {
            return work.get();
        } finally {
            if (torch.decrement_nesting() == 0) torch.clear_cache();
            torch.set_autocast_enabled(torch.DeviceType.CPU, was);
        }
    }
}
