package convnet.cli;

import convnet.UserException;
import convnet.data.Preprocess;
import convnet.engine.Engine;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "preprocess",
        mixinStandardHelpOptions = true,
        description =
                "Folder per class (or a CSV manifest, or a flat folder with --labels) → resized RGB images, stratified train/val split (train.csv, val.csv), categories.csv, rgb_mean.json, skipped.csv.")
final class PreprocessCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Parameters(
            index = "0",
            paramLabel = "SRC",
            description = "Folder with one sub-folder of images per class; or a CSV manifest (.csv with the columns"
                    + " path,label, paths relative to it); or with --labels a flat folder of images.")
    Path src;

    @Parameters(index = "1", paramLabel = "DST", description = "Output folder.")
    Path dst;

    @Option(
            names = "--val",
            defaultValue = "0.2",
            description = "Validation fraction per class (default: ${DEFAULT-VALUE}).")
    double val;

    @Option(names = "--size", defaultValue = "256", description = "Output size in pixels (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(
            names = "--mode",
            defaultValue = "smaller-side",
            description = "center-crop | smaller-side | stretch (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the split (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--label-pattern",
            defaultValue = "^\\d+\\.(.+)$",
            description = "Regex whose first group is the label in a folder name (default turns 001.ak47 into ak47).")
    String labelPattern;

    @Option(
            names = "--labels",
            paramLabel = "FILE",
            description = "The labels file of a flat SRC folder: 'filename label' lines, or filename,label rows in a"
                    + " .csv (ImageNet's LOC_val_solution.csv as it comes).")
    Path labels;

    @Option(names = "--quality", defaultValue = "95", description = "JPEG quality (default: ${DEFAULT-VALUE}).")
    int quality;

    @Override
    public void run() {
        if (val < 0 || val >= 1) throw new UserException("--val must be in [0, 1), got " + val);
        if (size < 8 || size > 8192) throw new UserException("--size must be in [8, 8192], got " + size);
        if (quality < 1 || quality > 100) throw new UserException("--quality must be in [1, 100]");
        Preprocess.Mode m = switch (mode) {
            case "center-crop" -> Preprocess.Mode.CENTER_CROP;
            case "smaller-side" -> Preprocess.Mode.SMALLER_SIDE;
            case "stretch" -> Preprocess.Mode.STRETCH;
            default -> throw new UserException("--mode must be center-crop, smaller-side or stretch, got " + mode);
        };
        try {
            Pattern.compile(labelPattern);
        } catch (PatternSyntaxException e) {
            throw new UserException("--label-pattern is not a valid regex: " + e.getDescription());
        }
        Engine.start(1);
        int threads = common.threads > 0 ? common.threads : Runtime.getRuntime().availableProcessors();
        boolean terminal = System.console() != null;
        AtomicLong last = new AtomicLong();
        Preprocess.Report r = Preprocess.run(
                src, labels, dst, new Preprocess.Options(val, size, m, seed, labelPattern, threads, quality), n -> {
                    long now = System.nanoTime();
                    if (terminal && now - last.get() > 100_000_000L) {
                        last.set(now);
                        System.err.printf("\rpreprocess: %d images", n);
                    }
                });
        if (terminal) System.err.print("\r" + " ".repeat(40) + "\r");
        System.out.printf(
                Locale.ROOT,
                "%d classes, %d train + %d val images, %d skipped (see %s), %.1f s%n",
                r.classes(),
                r.train(),
                r.val(),
                r.skipped().size(),
                dst.resolve("skipped.csv"),
                r.seconds());
        System.out.printf(
                Locale.ROOT,
                "training mean RGB %.1f %.1f %.1f, std %.1f %.1f %.1f (0-255) → %s%n",
                r.mean()[0],
                r.mean()[1],
                r.mean()[2],
                r.std()[0],
                r.std()[1],
                r.std()[2],
                dst.resolve("rgb_mean.json"));
        for (String[] s : r.skipped().subList(0, Math.min(10, r.skipped().size())))
            System.err.println("skipped " + s[0] + ": " + s[1]);
        if (!r.duplicates().isEmpty()) {
            System.err.println(r.duplicates().size() + " files are byte-identical copies of others (see "
                    + dst.resolve("duplicates.csv") + "), e.g. "
                    + r.duplicates().get(0)[0] + " = " + r.duplicates().get(0)[1] + " ("
                    + r.duplicates().get(0)[2] + ")");
        }
    }
}
