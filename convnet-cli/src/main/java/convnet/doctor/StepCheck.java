package convnet.doctor;

import convnet.bench.Bench;
import convnet.data.Loader;
import convnet.engine.Engine;
import convnet.engine.Precision;
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

/**
 * The child JVM's side of {@code convnet doctor}: training steps of one model in one precision, on a fixed batch of
 * random images, channels-last as training runs them. Writes its result to a file — {@code ok} and the milliseconds
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
        Trainer trainer = Bench.plainTrainer(net, precision).channelsLast(true);
        net.train(true);
        Loader.Batch b = Bench.randomBatch(batch, size);
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
