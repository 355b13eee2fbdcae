package convnet.doctor;

import convnet.bench.Bench;
import convnet.data.Loader;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.Models;
import convnet.model.Net;
import convnet.train.Trainer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The child JVM's side of {@code convnet doctor}: the model's evaluation output checked against libtorch's reference
 * convolutions, then training steps of one model in one precision, on a fixed batch of random images, channels-last as
 * training runs them. Writes its result to a file — {@code ok} and the milliseconds
 * of each timed step, or {@code error} and one line — and exits; if libtorch crashes, the parent reads the JVM's
 * crash report instead.
 *
 * <p>Arguments: {@code MODEL PRECISION SIZE BATCH STEPS THREADS RESULT_FILE [--crash-test]}. The hidden
 * {@code --crash-test} writes to an invalid address in native code (SIGSEGV), to test the parent's crash reporting.
 */
public final class StepCheck {
    private StepCheck() {}

    public static void main(String[] args) throws Exception {
        Path result = Path.of(args[6]);
        String text;
        try {
            text = "ok\n"
                    + String.join(",", steps(args).stream().map(StepCheck::ms).toList()) + "\n";
        } catch (Throwable e) {
            text = "error\n" + oneLine(e) + "\n";
        }
        Files.writeString(result, text, StandardCharsets.UTF_8);
        System.exit(0);
    }

    private static List<Double> steps(String[] args) {
        String model = args[0];
        Precision precision = Precision.of(args[1]);
        int size = Integer.parseInt(args[2]), batch = Integer.parseInt(args[3]), steps = Integer.parseInt(args[4]);
        Engine.start(Integer.parseInt(args[5]));
        if (args.length > 7 && args[7].equals("--crash-test")) crashNatively();
        Net net = Models.spec(model, 10).build(0);
        Trainer trainer = Bench.plainTrainer(net, precision, true);
        net.train(true);
        Loader.Batch b = Bench.randomBatch(batch, size);
        checkNumerics(net, precision, b);
        net.train(true);
        check(trainer.step(b), 0); // warm-up: oneDNN creates its kernels in the first step
        List<Double> ms = new ArrayList<>();
        for (int i = 1; i <= steps; i++) {
            long t0 = System.nanoTime();
            double[] r = trainer.step(b);
            ms.add((System.nanoTime() - t0) / 1e6);
            check(r, i);
        }
        return ms;
    }

    /**
     * The model's evaluation forward pass as training runs it (oneDNN, channels-last, in {@code precision}) against the
     * same pass through libtorch's reference convolutions (oneDNN off, fp32): some oneDNN kernels return wrong sums on
     * some CPUs rather than crash (an inner product 2–90 % off was seen on an AVX-512 VM), and a step alone would not
     * show it. Within 1e-4 of the output's scale in fp32, 5e-2 in a 16-bit precision.
     */
    private static void checkNumerics(Net net, Precision precision, Loader.Batch b) {
        net.eval();
        Scoped.run(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                Tensor x = Tensors.fromFloats(b.images(), b.size(), 3, b.height(), b.width());
                Tensor fast = precision
                        .forward(() -> net.forward(x.contiguous(torch.MemoryFormat.ChannelsLast)))
                        .to(torch.ScalarType.Float);
                Tensor reference;
                torch.globalContext().setUserEnabledMkldnn(false);
                try {
                    reference = net.forward(x);
                } finally {
                    torch.globalContext().setUserEnabledMkldnn(true);
                }
                double scale = Math.max(1, reference.abs().max().item_double());
                double diff = fast.sub(reference).abs().max().item_double();
                double tolerance = precision == Precision.FP32 ? 1e-4 : 5e-2;
                if (!(diff <= tolerance * scale))
                    throw new IllegalStateException(String.format(
                            Locale.ROOT,
                            "wrong results: the output differs from libtorch's reference convolutions by %.3g"
                                    + " (%.2g of its scale %.3g; at most %.0e expected)",
                            diff,
                            diff / scale,
                            scale,
                            tolerance));
            }
        });
    }

    private static void check(double[] lossAndCorrect, int step) {
        if (!Double.isFinite(lossAndCorrect[0]))
            throw new IllegalStateException("the loss is " + lossAndCorrect[0] + " after step " + step
                    + " (random images should give about ln 10 = 2.3)");
    }

    /** A write to address 16 in native code: the JVM dies of SIGSEGV in libc, as it would inside libtorch. */
    private static void crashNatively() {
        Pointer invalid = new Pointer() {
            {
                address = 16;
            }
        };
        Pointer.memset(invalid, 0, 64);
    }

    private static String ms(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    /** The exception's first line (libtorch's messages go on with a C++ stack), with its type where that says more. */
    static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? "" : e.getMessage().strip();
        int nl = m.indexOf('\n');
        if (nl >= 0) m = m.substring(0, nl).strip();
        boolean plain = e.getClass() == RuntimeException.class
                || e instanceof convnet.UserException
                || e instanceof IllegalStateException;
        if (m.isEmpty()) return e.getClass().getName();
        return plain ? m : e.getClass().getSimpleName() + ": " + m;
    }
}
