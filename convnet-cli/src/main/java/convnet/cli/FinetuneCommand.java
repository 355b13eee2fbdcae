package convnet.cli;

import convnet.config.YamlMaps;
import convnet.engine.Engine;
import convnet.eval.Metrics;
import convnet.run.Finetune;
import convnet.run.RunConfig;
import convnet.run.TestRun;
import convnet.weights.Pretrained;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "finetune",
        mixinStandardHelpOptions = true,
        description = {
            "Train a classifier for a folder of photos (one sub-folder per class) from ImageNet weights: the"
                    + " backbone's head replaced for the folder's classes, trained alone first with the backbone"
                    + " frozen, then everything with the backbone at a lower rate; then a flip-averaged test on the"
                    + " held-out images. Writes a normal run directory (test, predict, export and serve work on it);"
                    + " running it again resumes.",
            "torchvision's weights are downloaded once into $CONVNET_HOME/weights (else ~/.cache/convnet/weights);"
                    + " offline, put the file there by hand (the error says which URL and where)."
        })
final class FinetuneCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Parameters(index = "0", paramLabel = "DIR", description = "The photos: one sub-folder per class.")
    Path data;

    @Option(
            names = "--from",
            paramLabel = "torchvision:NAME|FILE",
            description = "The pretrained weights: torchvision:resnet18, resnet34, resnet50 (default; torchvision's"
                    + " IMAGENET1K_V2), resnet50_v1, vgg11 ... vgg19_bn, or a weights file with --model.")
    String from = Finetune.DEFAULT_FROM;

    @Option(names = "--model", paramLabel = "NAME", description = "The model a weights file in --from holds.")
    String model;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs in all (default: ${DEFAULT-VALUE}).")
    int epochs = 10;

    @Option(
            names = "--head-epochs",
            paramLabel = "N",
            description = "Of which the first train the new head alone (default: a fifth of --epochs, at least 1).")
    int headEpochs = -1;

    @Option(names = "--size", paramLabel = "S", description = "Image side in pixels (default: ${DEFAULT-VALUE}).")
    int size = 224;

    @Option(names = "--batch", paramLabel = "N", description = "Images per batch (default: ${DEFAULT-VALUE}).")
    int batch = 32;

    @Option(names = "--lr", description = "The head's learning rate, SGD (default: ${DEFAULT-VALUE}).")
    double lr = 0.01;

    @Option(
            names = "--backbone-lr",
            paramLabel = "FACTOR",
            description =
                    "The backbone's rate once it trains, as a fraction of the head's (default: ${DEFAULT-VALUE}).")
    double backboneLr = 0.1;

    @Option(
            names = "--val",
            paramLabel = "SHARE",
            description = "Share of each class held out for validation (default: ${DEFAULT-VALUE}).")
    double val = 0.2;

    @Option(names = "--run", paramLabel = "DIR", description = "Run directory (default: runs/finetune-<folder>).")
    Path run;

    @Option(
            names = "--set",
            paramLabel = "KEY=VALUE",
            description = "Override a value of the generated config, e.g. --set train.ema.decay=0.999.")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--restart", description = "Discard the run directory's checkpoints and metrics and start over.")
    boolean restart;

    @Option(names = "--print-config", description = "Print the generated config and exit.")
    boolean printConfig;

    @Override
    public void run() {
        Finetune.Options o =
                new Finetune.Options(data, from, model, epochs, headEpochs, size, batch, lr, backboneLr, val, null);
        if (printConfig) {
            RunConfig checked = Finetune.config(o, overrides); // as the run would read it
            System.out.print(overrides.isEmpty() ? Finetune.yaml(o) : YamlMaps.dump(checked.toMap()));
            return;
        }
        if (!Files.isDirectory(data))
            throw new convnet.UserException(data + ": not a folder (expected one sub-folder of images per class)");
        RunConfig rc = Finetune.config(o, overrides);
        Path runDir = run != null ? run : Path.of("runs", rc.name());
        fetchWithProgress(rc);
        Engine.start(common.threads > 0 ? common.threads : rc.train().threads());
        TrainCommand.train(
                rc, runDir, common.verbose, restart, null, null, resolved -> testWithFlips(runDir, resolved));
    }

    /** torchvision's file, downloaded once before anything else starts (with progress on a terminal). */
    private static void fetchWithProgress(RunConfig rc) {
        String name = rc.model().pretrained();
        if (name == null || Files.isRegularFile(rc.model().weights())) return;
        String file = Pretrained.fileOf(name);
        LoggerFactory.getLogger("convnet")
                .info(
                        "downloading torchvision's {} weights ({}) once into {}",
                        name,
                        file,
                        rc.model().weights().getParent());
        boolean tty = System.console() != null;
        long[] last = {0};
        Pretrained.fetch(name, bytes -> {
            if (tty && bytes - last[0] >= (4 << 20)) {
                last[0] = bytes;
                System.err.printf("\r%s: %,d MB", file, bytes >> 20);
            }
        });
        if (tty && last[0] > 0) System.err.println();
    }

    /** The model bundle on the held-out images, each also mirrored (the test-time flip), as {@code test --flip}. */
    private static void testWithFlips(Path runDir, RunConfig resolved) {
        if (resolved.data().valSplit() == 0 && resolved.data().val() == null) return;
        TestRun.Report r = TestRun.test(
                List.of(runDir),
                new TestRun.Options(
                        "model",
                        null,
                        resolved.train().precision().precision(),
                        null,
                        false,
                        false,
                        0,
                        true,
                        false,
                        null));
        Metrics m = r.metrics();
        System.out.printf(
                Locale.ROOT,
                "%s: validation top-1 %.4f with flips (%d images, %s); next: ./convnet predict %s PHOTO...%n",
                runDir,
                m.top1(),
                m.count(),
                r.method().describe(),
                runDir);
    }
}
