package convnet.engine;

import java.util.function.Supplier;
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
