package convnet.train;

import java.util.function.Supplier;
import org.bytedeco.pytorch.global.torch;

/**
 * Mixed precision as one word, as Lightning spells it: {@code 32} or {@code bf16-mixed}. With
 * bf16-mixed, the forward pass runs under CPU autocast to bfloat16 while the weights, gradients and
 * optimizer state stay float32. The autocast weight cache is cleared when the outermost region ends,
 * so a cast copy never outlives an optimizer step.
 */
public enum Precision {
    FP32("32"), BF16_MIXED("bf16-mixed");

    public final String word;

    Precision(String word) {
        this.word = word;
    }

    /** Reads {@code 32}, {@code bf16-mixed} (or its short form {@code bf16}). */
    public static Precision of(String word) {
        if (word.equals("bf16")) return BF16_MIXED;
        for (Precision p : values()) if (p.word.equals(word)) return p;
        throw new convnet.UserException("unknown precision '" + word + "' (expected 32 or bf16-mixed)");
    }

    public <T> T forward(Supplier<T> work) {
        if (this == FP32) return work.get();
        boolean was = torch.is_autocast_enabled(torch.DeviceType.CPU);
        torch.set_autocast_enabled(torch.DeviceType.CPU, true);
        torch.set_autocast_dtype(torch.DeviceType.CPU, torch.ScalarType.BFloat16);
        torch.increment_nesting();
        try {
            return work.get();
        } finally {
            if (torch.decrement_nesting() == 0) torch.clear_cache();
            torch.set_autocast_enabled(torch.DeviceType.CPU, was);
        }
    }
}
