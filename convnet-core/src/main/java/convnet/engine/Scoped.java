package convnet.engine;

import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;

/**
 * Runs a piece of engine work inside a {@link PointerScope}, so that every native object it makes
 * (tensors, options, vectors) is freed when it returns. Return plain Java values from it; a native
 * object that must outlive the scope has to be created outside it (see docs/architecture.md, "Engine traps").
 */
public final class Scoped {
    private Scoped() {}

    public static <T> T call(Supplier<T> work) {
        try (PointerScope scope = new PointerScope()) {
            return work.get();
        }
    }

    public static void run(Runnable work) {
        try (PointerScope scope = new PointerScope()) {
            work.run();
        }
    }
}
