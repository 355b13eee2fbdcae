package convnet.cli;

import convnet.UserException;
import convnet.doctor.Doctor;
import convnet.engine.Engine;
import convnet.model.Models;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "doctor",
        mixinStandardHelpOptions = true,
        description = {
            "Check this machine: the CPU and its flags, the engine's versions, what precision: auto picks, and a"
                    + " training step (forward, backward, SGD) of each model family in fp32 and in the auto precision.",
            "Each model runs in its own JVM, so that a native crash in libtorch is reported (signal and frame) rather"
                    + " than fatal. Exit code 0: all ok; 1: a model crashed or failed."
        })
final class DoctorCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--size", defaultValue = "64", description = "Image side in pixels (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--batch", defaultValue = "8", description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(
            names = "--steps",
            defaultValue = "3",
            description = "Timed steps after one warm-up; the median is shown (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(
            names = "--models",
            split = ",",
            paramLabel = "NAME",
            description = "Models to check (default: one per family: " + Doctor.FAMILY_NAMES + ").")
    List<String> models;

    @Option(
            names = "--precisions",
            split = ",",
            paramLabel = "P",
            description = "Precisions to check: 32, bf16-mixed, 16-mixed (default: 32 and what precision: auto picks"
                    + " here, when that is another).")
    List<String> precisions;

    @Option(names = "--all", description = "Check every registered model (convnet models lists them).")
    boolean all;

    @Option(
            names = "--isa",
            paramLabel = "ISA",
            description = "Run the models with ONEDNN_MAX_CPU_ISA=ISA (e.g. AVX2, SSE41, AVX512_CORE): oneDNN then uses"
                    + " only that instruction set and older ones, to check its lower paths on a machine that has higher"
                    + " ones.")
    String isa;

    @Option(
            names = "--timeout",
            defaultValue = "600",
            paramLabel = "SECONDS",
            description = "Stop a model's check after this long (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--json", description = "Print one JSON document on stdout instead of the report.")
    boolean json;

    /** Every child crashes natively: a test of the crash reporting on any machine. */
    @Option(names = "--crash-test", hidden = true)
    boolean crashTest;

    @Override
    public Integer call() throws Exception {
        if (all && models != null) throw new UserException("--all and --models: choose one");
        Engine.start(common.threads);
        Doctor.Machine m = Doctor.machine();
        List<String> names = all ? Models.names() : models != null ? models : Doctor.FAMILIES;
        Doctor.Settings s = new Doctor.Settings(
                names,
                precisions != null ? precisions : Doctor.precisions(m),
                size,
                batch,
                steps,
                Engine.threads(),
                isa,
                timeoutSeconds,
                crashTest);
        if (!json) printMachine(m, s);
        Doctor.Report report = Doctor.run(s, c -> {
            if (!json) printCheck(c);
        });
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("machine", m);
            doc.put("settings", s);
            doc.put("checks", report.checks());
            doc.put("ok", report.ok());
            doc.put("logs", report.logs());
            Json.print(doc);
        } else printSummary(report);
        return report.ok() ? 0 : 1;
    }

    private static void printMachine(Doctor.Machine m, Doctor.Settings s) {
        String flags = m.flags().entrySet().stream()
                .map(e -> e.getKey() + (e.getValue() ? " yes" : " no"))
                .collect(Collectors.joining(", "));
        System.out.printf("%-11s %s (%d cores)%n", "cpu", m.cpu(), m.cores());
        System.out.printf("%-11s %s%n", "flags", flags);
        System.out.printf(
                "%-11s %d compute thread%s (--threads)%n",
                "threads", m.computeThreads(), m.computeThreads() == 1 ? "" : "s");
        System.out.printf("%-11s auto picks %s: %s%n", "precision", m.autoPrecision(), m.autoReason());
        System.out.printf(
                "%-11s %s (org.bytedeco:pytorch %s), its own kernels built for %s%n",
                "libtorch", m.libtorch(), m.presets(), m.atenCpuCapability());
        System.out.printf("%-11s %s%n", "oneDNN", m.onednn());
        System.out.printf("%-11s %s%n", "java", m.java());
        if (s.isa() != null)
            System.out.printf(
                    "%-11s ONEDNN_MAX_CPU_ISA=%s in each model's JVM (oneDNN uses that instruction set and older ones)%n",
                    "isa", s.isa());
        System.out.println();
        System.out.printf(
                "Each model in its own JVM: its output checked against libtorch's reference convolutions, then a"
                        + " training step%n(forward, loss, backward, SGD) on random %d×%d images, batch %d,"
                        + " channels-last; the median of %d step%s after one warm-up:%n",
                s.size(), s.size(), s.batch(), s.steps(), s.steps() == 1 ? "" : "s");
        System.out.printf("%-24s %-11s %s%n", "model", "precision", "result");
        System.out.flush();
    }

    private static final String INDENT = " ".repeat(24 + 1 + 11 + 1 + 10);

    private static void printCheck(Doctor.Check c) {
        String result = switch (c.status()) {
            case OK -> String.format(Locale.ROOT, "%-9s %8.1f ms/step", "ok", c.msPerStep());
            case CRASHED, ERROR -> String.format("%-9s %s", c.status().word, c.message());
        };
        System.out.printf("%-24s %-11s %s%n", c.model(), c.precision(), result);
        if (c.javaFrame() != null) System.out.println(INDENT + "called from " + c.javaFrame());
        if (c.tail() != null) for (String l : c.tail()) System.out.println(INDENT + "| " + l);
        if (c.crashReport() != null) System.out.println(INDENT + "crash report: " + c.crashReport());
        else if (!c.ok()) System.out.println(INDENT + "output: " + c.log());
        System.out.flush();
    }

    private static void printSummary(Doctor.Report r) {
        int n = r.checks().size();
        long crashed = r.checks().stream()
                .filter(c -> c.status() == Doctor.Status.CRASHED)
                .count();
        long errors = r.checks().stream()
                .filter(c -> c.status() == Doctor.Status.ERROR)
                .count();
        System.out.println();
        if (r.ok()) {
            System.out.println("all " + n + " checks ok");
            return;
        }
        System.out.printf(
                "%d of %d checks failed (%d crashed, %d error%s); the models' output and crash reports are kept in %s%n",
                crashed + errors, n, crashed, errors, errors == 1 ? "" : "s", r.logs());
        if (crashed > 0)
            System.out.println("A model that crashes here also kills a training run of it on this machine.");
    }
}
