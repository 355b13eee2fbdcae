package convnet.cli;

import picocli.CommandLine.Option;

/** Options every command takes. */
final class CommonOptions {
    @Option(names = "--verbose", description = "Debug logging and stack traces on errors.")
    boolean verbose;

    @Option(names = "--threads", description = "Compute threads, 1 to 4 × cores (default 0: one per core).")
    int threads;
}
