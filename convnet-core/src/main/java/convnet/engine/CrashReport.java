package convnet.engine;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What killed a JVM, read from the crash report ({@code hs_err_<pid>.log}) it wrote as it died: the signal (e.g.
 * {@code SIGFPE}), the frame where it happened (e.g. {@code libtorch_cpu.so+0x5d1c2a3 dnnl::impl::cpu::x64::...})
 * and the last Java frame on the way there. A native crash inside libtorch kills the JVM with no exception to catch;
 * this is how a parent process tells the user what happened.
 *
 * @param signal the signal's name ({@code SIGSEGV}, {@code SIGFPE}, ...), or what else the JVM reported (e.g.
 *     {@code out of memory}, {@code internal error})
 * @param frame the problematic frame, library+offset and the function when the library names it; null if unknown
 * @param javaFrame the innermost Java method on the crashing thread's stack (and convnet's innermost, when that is
 *     another); null if none
 * @param file the crash report read; null when the process died without writing one
 */
public record CrashReport(String signal, String frame, String javaFrame, Path file) {
    private static final Pattern SIGNAL = Pattern.compile("^#\\s+(SIG[A-Z0-9]+) \\(0x[0-9a-fA-F]+\\)");
    private static final Pattern NATIVE_FRAME = Pattern.compile("^[CVv]\\s+\\[([^\\]]+)\\]\\s*(.*)$");
    private static final Pattern JAVA_FRAME = Pattern.compile("^[Jj]\\s+(?:\\d+\\s+(?:c1|c2|jvmci)\\s+)?([\\w.$]+)\\(");
    private static final String[] SIGNALS = {
        null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
        "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM"
    };

    /** The report's header is at the top; the stacks follow within a few hundred lines. */
    private static final int LINES_READ = 2000;

    /** Reads a crash report the JVM wrote. */
    public static CrashReport read(Path hsErr) throws IOException {
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(hsErr, StandardCharsets.ISO_8859_1)) {
            for (String l; lines.size() < LINES_READ && (l = r.readLine()) != null; ) lines.add(l);
        }
        return parse(lines, hsErr);
    }

    /** The report of a process killed by a signal without writing a crash report (exit code 128 + the signal). */
    public static CrashReport killed(int exitCode) {
        int n = exitCode - 128;
        String name = n > 0 && n < SIGNALS.length ? SIGNALS[n] : "signal " + n;
        return new CrashReport(name, null, null, null);
    }

    static CrashReport parse(List<String> lines, Path file) {
        String signal = null, frame = null, javaFrame = null;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            Matcher s = SIGNAL.matcher(l);
            if (signal == null && s.find()) signal = s.group(1);
            else if (signal == null && l.startsWith("#  Internal Error")) signal = "internal error";
            else if (signal == null && l.startsWith("# There is insufficient memory")) signal = "out of memory";
            else if (frame == null && l.startsWith("# Problematic frame:") && i + 1 < lines.size())
                frame = frame(lines.get(i + 1).replaceFirst("^#\\s*", ""));
            else if (javaFrame == null && l.startsWith("Java frames:")) javaFrame = javaFrame(lines, i + 1);
        }
        return new CrashReport(signal != null ? signal : "unknown signal", frame, javaFrame, file);
    }

    /**
     * The innermost Java frame, and the innermost of convnet's own when that is another: {@code
     * org.bytedeco.pytorch.global.torch.conv2d, from convnet.model.Layers$Conv2d.forward}.
     */
    private static String javaFrame(List<String> lines, int from) {
        String inner = null;
        for (int j = from; j < lines.size() && !lines.get(j).isBlank(); j++) {
            Matcher m = JAVA_FRAME.matcher(lines.get(j));
            if (!m.find()) continue;
            if (inner == null) inner = m.group(1);
            if (m.group(1).startsWith("convnet."))
                return inner.equals(m.group(1)) ? inner : inner + ", from " + m.group(1);
        }
        return inner;
    }

    /** {@code C  [libtorch_cpu.so+0x5d1c2a3]  dnnl::f()+0x4a3} → {@code libtorch_cpu.so+0x5d1c2a3 dnnl::f()+0x4a3}. */
    private static String frame(String line) {
        Matcher m = NATIVE_FRAME.matcher(line.trim());
        if (!m.find()) return line.trim().replaceAll("\\s+", " ");
        return (m.group(1) + " " + m.group(2)).trim().replaceAll("\\s+", " ");
    }

    /** One line: {@code SIGFPE in libtorch_cpu.so+0x... dnnl::...}. */
    public String oneLine() {
        if (file == null && frame == null)
            return signal + " (no crash report: killed from outside"
                    + (signal.equals("SIGKILL") ? ", e.g. by the kernel's out-of-memory killer)" : ")");
        return signal + (frame != null ? " in " + frame : "");
    }
}
