package convnet.engine;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Runs a main class in a child JVM — this JVM's {@code java}, class path and heap limit — so that a native crash in
 * libtorch, which kills the whole JVM and which no try/catch sees (SIGFPE and SIGSEGV inside oneDNN kernels happen on
 * some CPUs), is reported instead of being fatal. The child writes its crash report into a folder of ours
 * ({@code -XX:ErrorFile}), where {@link Outcome#crash()} reads the signal and the frame; its output goes to a log file,
 * not the console; it runs with {@code OPENBLAS_NUM_THREADS=1}, as the launcher sets.
 */
public final class ChildJvm {
    private ChildJvm() {}

    /**
     * How a child ended.
     *
     * @param exitCode the process's exit code (a JVM that crashed exits with 1 or 128 + the signal)
     * @param timedOut it ran past its time and was stopped
     * @param crash what killed it, when it died of a signal; null otherwise
     * @param log its standard output and error
     * @param seconds its wall time
     */
    public record Outcome(int exitCode, boolean timedOut, CrashReport crash, Path log, double seconds) {
        /** The last {@code n} lines of the log that {@code keep} accepts (blank lines never). */
        public List<String> tail(int n, Predicate<String> keep) {
            List<String> lines;
            try {
                lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            } catch (IOException e) {
                try {
                    lines = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
                } catch (IOException again) {
                    return List.of();
                }
            }
            List<String> kept =
                    lines.stream().filter(l -> !l.isBlank() && keep.test(l)).toList();
            return kept.subList(Math.max(0, kept.size() - n), kept.size());
        }
    }

    /**
     * Runs {@code mainClass args} in a new JVM and waits for it, at most {@code timeout} (then it is killed).
     *
     * @param dir where the child runs and writes its log ({@code name.log}) and, if it crashes, its crash report
     * @param env variables added to this process's environment for the child
     */
    public static Outcome run(
            Path dir, String name, String mainClass, List<String> args, Map<String, String> env, Duration timeout)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path log = dir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + Math.max(64, Runtime.getRuntime().maxMemory() >> 20) + "m",
                "--enable-native-access=ALL-UNNAMED",
                "-XX:ErrorFile=" + dir.toAbsolutePath().resolve("hs_err_%p.log"),
                "-XX:-CreateCoredumpOnCrash",
                "-cp",
                classPath(),
                mainClass));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> childEnv = new LinkedHashMap<>(env);
        childEnv.putIfAbsent("OPENBLAS_NUM_THREADS", "1");
        pb.environment().putAll(childEnv);
        long t0 = System.nanoTime();
        Process p = pb.start();
        Thread stopChild = new Thread(p::destroyForcibly, "stop " + name);
        Runtime.getRuntime().addShutdownHook(stopChild); // this JVM stopped (Ctrl-C, SIGTERM): so does the child
        boolean timedOut;
        try {
            timedOut = !p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (timedOut) {
                p.destroyForcibly();
                p.waitFor();
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            throw e;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(stopChild);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        int code = p.exitValue();
        Path hsErr = dir.resolve("hs_err_" + p.pid() + ".log");
        CrashReport crash = null;
        if (Files.isRegularFile(hsErr)) crash = CrashReport.read(hsErr);
        else if (!timedOut && code > 128 && code < 128 + 65) crash = CrashReport.killed(code);
        return new Outcome(code, timedOut, crash, log, seconds);
    }

    /** This JVM's class path with every entry absolute (the child runs in another folder). */
    private static String classPath() {
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator))
            if (!e.isEmpty()) entries.add(Path.of(e).toAbsolutePath().toString());
        return String.join(File.pathSeparator, entries);
    }
}
