package convnet.cli;

import convnet.UserException;
import convnet.report.AsciiFallback;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code convnet} command line. Exit codes: 0 success, 2 a user error (one line on stderr), 1 anything else. */
@Command(
        name = "convnet",
        mixinStandardHelpOptions = true,
        version = "convnet " + convnet.Version.VERSION,
        description = "Train, test and use VGG and ResNet image classifiers on folders of images.",
        subcommands = {
            TrainCommand.class,
            FinetuneCommand.class,
            TestCommand.class,
            PredictCommand.class,
            SummaryCommand.class,
            ModelsCommand.class,
            WeightsCommand.class,
            ExportCommand.class,
            PreprocessCommand.class,
            BenchCommand.class,
            DoctorCommand.class,
            ServeCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.err);
    }

    public static void main(String[] args) {
        useAsciiWhereGlyphsCannotShow();
        System.exit(run(args));
    }

    /** On a console whose charset cannot show convnet's glyphs (LANG=C), they are spelled in ASCII instead of '?'. */
    static void useAsciiWhereGlyphsCannotShow() {
        Charset console = System.console() != null ? System.console().charset() : Charset.defaultCharset();
        String stdout = System.getProperty("stdout.encoding");
        if (stdout != null && Charset.isSupported(stdout)) console = Charset.forName(stdout);
        if (AsciiFallback.canShowGlyphs(console)) return;
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, AsciiFallback.INSTANCE));
        System.setErr(new PrintStream(new FileOutputStream(FileDescriptor.err), true, AsciiFallback.INSTANCE));
        Logs.consoleCharset(AsciiFallback.INSTANCE);
    }

    /** Runs the command line and returns its exit code (for tests). */
    public static int run(String... args) {
        boolean verbose = Arrays.asList(args).contains("--verbose");
        Logs.setVerbose(verbose);
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof UserException) {
                System.err.println("error: " + ex.getMessage());
                if (verbose) ex.printStackTrace();
                return 2;
            }
            System.err.println("error: " + ex);
            if (verbose) ex.printStackTrace();
            else System.err.println("(run with --verbose for the stack trace)");
            return 1;
        });
        cli.setParameterExceptionHandler((ex, a) -> {
            System.err.println("error: " + ex.getMessage());
            ex.getCommandLine().usage(System.err);
            return 2;
        });
        return cli.execute(args);
    }
}
