package convnet.engine;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.global.torch;

/**
 * The one place the native engine is started. Handles, once, the engine traps listed in docs/architecture.md:
 * the native cache is filled before any torch class loads (another libtorch on the system would
 * otherwise be picked up and crash the first run), and OpenBLAS is held to one thread so that it
 * does not fight libtorch's OpenMP threads.
 */
public final class Engine {
    private static volatile boolean started;
    private static int threads;

    private Engine() {}

    /** Starts the engine with the default number of compute threads (all cores). */
    public static void start() {
        start(0);
    }

    /**
     * Starts the engine; {@code computeThreads <= 0} means one per available core. Calling again
     * with a different positive count changes the thread count.
     */
    public static synchronized void start(int computeThreads) {
        int cores = Runtime.getRuntime().availableProcessors(), most = 4 * cores;
        if (computeThreads < 0 || computeThreads > most) {
            // far more threads than cores only thrashes (100000 hung at start-up)
            throw new convnet.UserException("compute threads must be in [0, " + most
                    + "] (0: one per core; this machine has " + cores + " cores), got " + computeThreads);
        }
        if (!started) {
            String platform = Loader.getPlatform();
            try {
                Loader.cacheResources("/org/bytedeco/openblas/" + platform + "/");
                Loader.cacheResources("/org/bytedeco/pytorch/" + platform + "/");
            } catch (java.io.IOException e) {
                throw new IllegalStateException(
                        "cannot unpack the libtorch natives into the JavaCPP cache: " + e.getMessage(), e);
            }
            Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
            org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads(1);
            Loader.load(torch.class);
            // NNPACK is never the convolution path here (oneDNN is), but asking whether it is available logs
            // "Could not initialize NNPACK! Reason: Unsupported hardware." a dozen times on CPUs it does not know
            // (seen on AMD Zen 5); asking nothing says nothing.
            torch.globalContext().setUserEnabledNNPACK(false);
            started = true;
        }
        int wanted = computeThreads > 0 ? computeThreads : cores;
        if (wanted != threads) {
            torch.set_num_threads(wanted);
            threads = wanted;
        }
    }

    public static int threads() {
        return threads;
    }
}
