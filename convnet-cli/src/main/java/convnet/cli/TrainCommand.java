package convnet.cli;

import convnet.config.ConfigNode;
import convnet.engine.Engine;
import convnet.run.RunConfig;
import convnet.run.TrainingRun;
import convnet.train.Distributed;
import convnet.train.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = "Train a model from a YAML config. An existing run directory with checkpoints is resumed.")
final class TrainCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Parameters(index = "0", paramLabel = "CONFIG", description = "The YAML config file.")
    Path config;

    @Option(names = "--run", paramLabel = "DIR", description = "Run directory (default: runs/<name>).")
    Path run;

    @Option(
            names = "--set",
            paramLabel = "KEY=VALUE",
            description = "Override a config value, e.g. --set train.epochs=2.")
    List<String> overrides = new ArrayList<>();

    @Option(
            names = "--resume",
            paramLabel = "last|best|PATH",
            description = "Resume from this checkpoint (default: last, if any).")
    String resume;

    @Option(names = "--restart", description = "Discard the run directory's checkpoints and metrics and start over.")
    boolean restart;

    @Option(
            names = {"--world-size", "--nodes"},
            description =
                    "Processes training together (data-parallel, Gloo), one per node on CPU; default: $WORLD_SIZE or 1.")
    Integer worldSize;

    @Option(names = "--rank", description = "This process's rank in [0, world-size); default: $RANK.")
    Integer rank;

    @Option(
            names = "--master",
            paramLabel = "HOST:PORT",
            description = "Rendezvous served by rank 0; default: $MASTER_ADDR:$MASTER_PORT or 127.0.0.1:29500.")
    String master;

    @Option(
            names = "--join-timeout",
            defaultValue = "300",
            paramLabel = "SECONDS",
            description =
                    "How long to wait for the other processes of a data-parallel run (default: ${DEFAULT-VALUE}).")
    int joinTimeout;

    private Distributed joinGroup(RunConfig rc) {
        int world =
                worldSize != null ? worldSize : Integer.parseInt(System.getenv().getOrDefault("WORLD_SIZE", "1"));
        if (world <= 1) return null;
        TrainingRun.checkWorldSize(
                rc, world); // before waiting for anyone: a refusal on one side would leave the others waiting
        int r = rank != null ? rank : Integer.parseInt(System.getenv().getOrDefault("RANK", "-1"));
        String hostPort = master != null
                ? master
                : System.getenv().getOrDefault("MASTER_ADDR", "127.0.0.1") + ":"
                        + System.getenv().getOrDefault("MASTER_PORT", "29500");
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0) throw new convnet.UserException("--master " + hostPort + ": expected HOST:PORT");
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new convnet.UserException("--master " + hostPort + ": the port is not a number");
        }
        if (joinTimeout < 1 || joinTimeout > 86_400)
            throw new convnet.UserException("--join-timeout must be in [1, 86400] seconds, got " + joinTimeout);
        return Distributed.join(hostPort.substring(0, colon), port, r, world, joinTimeout);
    }

    @Override
    public void run() {
        ConfigNode node = ConfigNode.load(config);
        for (String o : overrides) node.set(o);
        RunConfig rc = RunConfig.from(node, Path.of("").toAbsolutePath());
        Path runDir = run != null ? run : Path.of("runs", rc.name());
        Engine.start(common.threads > 0 ? common.threads : rc.train().threads());
        Distributed dist = joinGroup(rc);
        train(rc, runDir, common.verbose, restart, resume, dist, training -> {});
    }

    /**
     * Trains {@code rc} into {@code runDir} as {@code convnet train} does (log file, Ctrl-C, resume) and then, unless
     * it was stopped, hands the resolved config to {@code after} (the run closed, its log file still open). Returns
     * whether it ran to the end. The caller starts the engine.
     */
    static boolean train(
            RunConfig rc,
            Path runDir,
            boolean verbose,
            boolean restart,
            String resume,
            Distributed dist,
            Consumer<RunConfig> after) {
        if (!verbose) Logs.setLevel(rc.train().logLevel().word()); // --verbose wins
        // the log file opens once the run directory is checked and locked; lines logged before are held until then
        try (Logs.DeferredFile logFile = Logs.deferredFile()) {
            LoggerFactory.getLogger("convnet")
                    .info("run {} in {} with {} compute threads", rc.name(), runDir.toAbsolutePath(), Engine.threads());
            var options = new TrainingRun.Options(
                    restart,
                    resume,
                    System.console() != null,
                    dist,
                    dir -> logFile.openAt(dir.log(rc.train().logFile())));
            RunConfig resolved;
            try (TrainingRun training = TrainingRun.open(rc, runDir, options)) {
                fitUntilDoneOrStopped(training.trainer());
                if (training.trainer().stopped()) {
                    LoggerFactory.getLogger("convnet")
                            .info(
                                    "stopped; checkpoints in {} (run the same command to resume)",
                                    training.dir().checkpointsDir());
                    return false;
                }
                LoggerFactory.getLogger("convnet")
                        .info("done: model in {}", training.dir().model());
                resolved = training.config();
            }
            after.accept(resolved);
            return true;
        }
    }

    /** Trains; Ctrl-C or SIGTERM asks the trainer to stop after its batch, and the process waits for it to save. */
    private static void fitUntilDoneOrStopped(Trainer trainer) {
        CountDownLatch done = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            trainer.requestStop();
            try {
                done.await(120, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            trainer.fit();
        } finally {
            done.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is already running: we are stopping on a signal
            }
        }
    }
}
