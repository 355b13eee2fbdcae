package convnet.engine;

import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
            } catch (IOException e) {
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

    /** libtorch's version as its build configuration states it (e.g. {@code 2.10.0}); the engine must be started. */
    public static String libtorchVersion() {
        Matcher m = Pattern.compile("TORCH_VERSION=([^,\\s]+)")
                .matcher(torch.show_config().getString());
        return m.find() ? m.group(1) : "unknown";
    }

    /** The version of the JavaCPP presets that bring libtorch (e.g. {@code 2.10.0-1.5.13}), from their jar. */
    public static String presetsVersion() {
        String v = torch.class.getPackage().getImplementationVersion();
        return v != null ? v : "unknown";
    }

    /**
     * The version of oneDNN (MKL-DNN), libtorch's convolution library, e.g. {@code 3.7.1 (git 8d263e69)}; the
     * engine must be started.
     */
    public static String onednnVersion() {
        String s = torch.get_mkldnn_version().getString();
        Matcher v = Pattern.compile("v(\\d+(?:\\.\\d+)+)").matcher(s);
        Matcher git = Pattern.compile("Git Hash ([0-9a-f]{8})").matcher(s);
        if (!v.find()) return s.isBlank() ? "unknown" : s.trim();
        return v.group(1) + (git.find() ? " (git " + git.group(1) + ")" : "");
    }

    /** The instruction set ATen's own vectorised kernels use here (e.g. {@code AVX512}, {@code AVX2}). */
    public static String atenCpuCapability() {
        return torch.get_cpu_capability().getString();
    }
}
