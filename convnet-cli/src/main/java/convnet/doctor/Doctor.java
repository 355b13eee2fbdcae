package convnet.doctor;

import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import convnet.UserException;
import convnet.engine.ChildJvm;
import convnet.engine.CrashReport;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.model.Models;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A self-check of this machine: the facts a training speed or a crash depends on ({@link #machine()}) and one
 * training step — forward, loss, backward, SGD — of each model family in fp32 and in the precision {@code auto}
 * picks ({@link #run}), each in its own child JVM: a native crash (SIGFPE, SIGSEGV inside a oneDNN kernel) kills
 * only that child, and is reported with its signal and frame.
 */
public final class Doctor {
    private Doctor() {}

    /** One model per kind of layer and kernel: VGG with BatchNorm; PReLU and dropout; the GAP head; basic units; bottleneck units with the ImageNet stem. */
    public static final String FAMILY_NAMES =
            "vgg11_bn, vgg13_caltech, vgg11_bn_gap, preact_resnet20_cifar, preact_resnet20, resnet18";

    public static final List<String> FAMILIES = List.of(FAMILY_NAMES.split(", "));

    /** The CPU flags the engine's kernels and {@code precision: auto} depend on. */
    public static final List<String> FLAGS = List.of("avx2", "avx512f", "avx512_bf16", "amx_bf16");

    /** The values oneDNN reads from {@code ONEDNN_MAX_CPU_ISA} (it ignores others silently). */
    public static final List<String> ISAS = List.of(
            "SSE41",
            "AVX",
            "AVX2",
            "AVX2_VNNI",
            "AVX2_VNNI_2",
            "AVX512_CORE",
            "AVX512_CORE_VNNI",
            "AVX512_CORE_BF16",
            "AVX10_1_512",
            "AVX512_CORE_FP16",
            "AVX10_1_512_AMX",
            "AVX512_CORE_AMX",
            "AVX10_1_512_AMX_FP16",
            "AVX512_CORE_AMX_FP16",
            "DEFAULT");

    /** What this machine and engine are; the engine must be started. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Machine(
            String cpu,
            int cores,
            Map<String, Boolean> flags,
            int computeThreads,
            String autoPrecision,
            String autoReason,
            String libtorch,
            String presets,
            String atenCpuCapability,
            String onednn,
            String java) {}

    public static Machine machine() {
        Set<String> cpuFlags = Precision.cpuFlags();
        Map<String, Boolean> flags = new LinkedHashMap<>();
        for (String f : FLAGS) flags.put(f, cpuFlags.contains(f));
        Precision.Choice auto = Precision.choose("auto", cpuFlags);
        return new Machine(
                cpuModel(),
                Runtime.getRuntime().availableProcessors(),
                flags,
                Engine.threads(),
                auto.precision().word,
                auto.reason().replaceFirst("^auto: ", ""),
                Engine.libtorchVersion(),
                Engine.presetsVersion(),
                Engine.atenCpuCapability(),
                Engine.onednnVersion(),
                System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ", "
                        + System.getProperty("java.home") + ")");
    }

    private static String cpuModel() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name"))
                    .findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .orElse("unknown");
        } catch (IOException | UncheckedIOException e) {
            return "unknown (no /proc/cpuinfo)";
        }
    }

    /**
     * What to check.
     *
     * @param models registry names
     * @param precisions precision words ({@code 32}, {@code bf16-mixed}, ...)
     * @param isa {@code ONEDNN_MAX_CPU_ISA} for the children, or null
     * @param timeoutSeconds how long one model's check may take before it is stopped
     * @param crashTest make every child crash natively (to test the reporting)
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Settings(
            List<String> models,
            List<String> precisions,
            int size,
            int batch,
            int steps,
            int threads,
            String isa,
            int timeoutSeconds,
            boolean crashTest) {
        public Settings {
            models = models.stream().map(String::strip).toList();
            for (String m : models) Models.preset(m); // an unknown name fails here, with the known ones
            for (String p : precisions) Precision.of(p);
            if (size < 1) throw new UserException("--size must be 1 or more pixels, got " + size);
            if (batch < 1) throw new UserException("--batch must be 1 or more, got " + batch);
            if (steps < 1) throw new UserException("--steps must be 1 or more, got " + steps);
            if (timeoutSeconds < 1)
                throw new UserException("--timeout must be 1 second or more, got " + timeoutSeconds);
            if (isa != null) {
                isa = isa.toUpperCase(Locale.ROOT);
                if (!ISAS.contains(isa))
                    throw new UserException("--isa " + isa + ": oneDNN knows " + String.join(", ", ISAS));
            }
            precisions = List.copyOf(precisions);
        }
    }

    /** fp32, and the precision {@code auto} picks on this machine when that is another. */
    public static List<String> precisions(Machine m) {
        return m.autoPrecision().equals(Precision.FP32.word)
                ? List.of(Precision.FP32.word)
                : List.of(Precision.FP32.word, m.autoPrecision());
    }

    public enum Status {
        OK("ok"),
        CRASHED("crashed"),
        ERROR("error");

        public final String word;

        Status(String word) {
            this.word = word;
        }

        @JsonValue
        public String word() {
            return word;
        }
    }

    /**
     * One model in one precision.
     *
     * @param msPerStep the median of the timed steps (ok only)
     * @param stepsMs each timed step (ok only)
     * @param signal what killed the child (crashed only), e.g. {@code SIGFPE}
     * @param frame where (crashed only, when known), e.g. {@code libtorch_cpu.so+0x... dnnl::...}
     * @param javaFrame the Java method that called into native code there (crashed only, when known)
     * @param message the error in one line (error), or the crash in one line (crashed)
     * @param tail the child's last lines of output (not ok only)
     * @param log the child's output (not ok only; kept when any check failed)
     * @param crashReport the JVM's crash report (crashed only)
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Check(
            String model,
            String precision,
            Status status,
            Double msPerStep,
            List<Double> stepsMs,
            String signal,
            String frame,
            String javaFrame,
            String message,
            List<String> tail,
            String log,
            String crashReport,
            double seconds) {
        public boolean ok() {
            return status == Status.OK;
        }
    }

    /** The checks, and where the children's logs and crash reports are (kept when any check failed; else null). */
    public record Report(List<Check> checks, String logs) {
        public boolean ok() {
            return checks.stream().allMatch(Check::ok);
        }
    }

    /** Runs every model in every precision, one child JVM each, in turn; {@code each} hears of each as it ends. */
    public static Report run(Settings s, Consumer<Check> each) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("convnet-doctor-");
        Map<String, String> env = new LinkedHashMap<>();
        if (s.isa() != null) env.put("ONEDNN_MAX_CPU_ISA", s.isa());
        List<Check> checks = new ArrayList<>();
        for (String model : s.models()) {
            for (String precision : s.precisions()) {
                String name = model + "-" + precision;
                Path result = dir.resolve(name + ".result");
                List<String> args = new ArrayList<>(List.of(
                        model,
                        precision,
                        Integer.toString(s.size()),
                        Integer.toString(s.batch()),
                        Integer.toString(s.steps()),
                        Integer.toString(s.threads()),
                        result.toString()));
                if (s.crashTest()) args.add("--crash-test");
                ChildJvm.Outcome o = ChildJvm.run(
                        dir, name, StepCheck.class.getName(), args, env, Duration.ofSeconds(s.timeoutSeconds()));
                Check c = check(model, precision, o, result, s.timeoutSeconds());
                checks.add(c);
                each.accept(c);
            }
        }
        boolean ok = checks.stream().allMatch(Check::ok);
        if (ok) deleteTree(dir);
        return new Report(List.copyOf(checks), ok ? null : dir.toString());
    }

    private static final int TAIL_LINES = 12;

    static Check check(String model, String precision, ChildJvm.Outcome o, Path result, int timeoutSeconds)
            throws IOException {
        List<String> lines =
                Files.isRegularFile(result) ? Files.readAllLines(result, StandardCharsets.UTF_8) : List.of();
        String log = o.log().toString();
        if (o.crash() != null) {
            CrashReport r = o.crash();
            return new Check(
                    model,
                    precision,
                    Status.CRASHED,
                    null,
                    null,
                    r.signal(),
                    r.frame(),
                    r.javaFrame(),
                    r.oneLine(),
                    o.tail(TAIL_LINES, l -> !l.startsWith("#") && !mentionsNnpack(l)),
                    log,
                    r.file() != null ? r.file().toString() : null,
                    o.seconds());
        }
        if (lines.size() >= 2 && lines.get(0).equals("ok")) {
            List<Double> ms = Arrays.stream(lines.get(1).split(","))
                    .map(Double::parseDouble)
                    .toList();
            return new Check(
                    model, precision, Status.OK, median(ms), ms, null, null, null, null, null, null, null, o.seconds());
        }
        String message = lines.size() >= 2 && lines.get(0).equals("error")
                ? lines.get(1)
                : o.timedOut()
                        ? "no result within " + timeoutSeconds + " s (stopped; --timeout sets the limit)"
                        : "the child JVM exited with code " + o.exitCode() + " and no result";
        return new Check(
                model,
                precision,
                Status.ERROR,
                null,
                null,
                null,
                null,
                null,
                message,
                o.tail(TAIL_LINES, l -> !mentionsNnpack(l)),
                log,
                null,
                o.seconds());
    }

    /** libtorch's warning that NNPACK cannot start on this CPU says nothing about the check. */
    private static boolean mentionsNnpack(String line) {
        return line.contains("NNPACK");
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(Comparator.naturalOrder());
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
