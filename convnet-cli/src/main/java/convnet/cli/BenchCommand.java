package convnet.cli;

import convnet.UserException;
import convnet.bench.Bench;
import convnet.bench.RecipeBench;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.io.AtomicFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description =
                "Measure training, loader and predict throughput on this machine; prints a table and writes JSON.")
final class BenchCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Option(
            names = "--models",
            split = ",",
            defaultValue = "vgg11bn32,resnet20",
            description = "Models: vgg11bn32, resnet20 or a convnet model name (default: ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(
            names = "--precisions",
            split = ",",
            defaultValue = "32,bf16-mixed",
            description =
                    "Precisions to measure: 32, bf16-mixed, 16-mixed (default: ${DEFAULT-VALUE}; bf16 is slow on CPUs without avx512_bf16/AMX).")
    List<String> precisions;

    @Option(
            names = "--memory-format",
            split = ",",
            defaultValue = "nchw,nhwc",
            description = "Memory formats to try: nchw, nhwc (channels-last) (default: ${DEFAULT-VALUE}).")
    List<String> memoryFormats;

    @Option(names = "--batch", defaultValue = "64", description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(
            names = "--warmup",
            defaultValue = "3",
            description = "Untimed steps before each measurement (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(
            names = "--steps",
            defaultValue = "20",
            description = "Timed steps per measurement (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(
            names = "--repeats",
            defaultValue = "3",
            description = "Measurements per figure; the median is shown (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(
            names = "--only",
            split = ",",
            defaultValue = "train,predict,loader",
            description =
                    "Which parts: train, predict, loader, epoch (loader feeding training steps), phases (ms per step in forward, backward, optimizer), recipe (time to accuracy of --config).")
    List<String> only;

    @Option(
            names = "--cifar",
            paramLabel = "DIR",
            description =
                    "A folder of small images (CIFAR-10's train folder) for the 32 px loader and epoch figures (default: samples/flowers).")
    Path cifar;

    @Option(
            names = "--photos",
            paramLabel = "DIR",
            description = "A folder of photos for the 224 px loader figure (default: samples/flowers).")
    Path photos;

    @Option(names = "--workers", defaultValue = "2", description = "Loader threads (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the results as JSON here.")
    Path json;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "recipe: the config to train (e.g. configs/preact-resnet20-cifar10-30.yaml).")
    Path recipe;

    @Option(
            names = "--epochs",
            defaultValue = "0",
            description = "recipe: train this many epochs (default: the config's).")
    int epochs;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "recipe: override a config value, as train --set.")
    List<String> overrides = new ArrayList<>();

    @Option(
            names = "--run",
            paramLabel = "DIR",
            description = "recipe: the run directory, trained afresh (default: runs/bench-<config name>).")
    Path runDir;

    @Option(names = "--flip", description = "recipe: also test the model bundle with flip averaging.")
    boolean flip;

    @Option(
            names = "--table",
            paramLabel = "FILE",
            description = "recipe: append the row to this Markdown table (created with its header if new).")
    Path table;

    @Override
    public void run() {
        Engine.start(common.threads);
        List<Bench.Result> results = new ArrayList<>();
        for (String m : models) {
            stepFigures(results, m);
            if (only.contains("predict")) predictFigures(results, m);
        }
        if (only.contains("epoch")) epochFigures(results);
        if (only.contains("loader")) {
            print(results, Bench.loader(folder(cifar, "--cifar"), "cifar", workers, 64, 200, repeats));
            print(results, Bench.loader(folder(photos, "--photos"), "photo224", workers, 32, 15, repeats));
        }
        List<Map<String, Object>> recipeRows = new ArrayList<>();
        if (only.contains("recipe")) recipeRows.add(recipeFigure());
        long rss = Bench.peakRssKb();
        System.out.printf(Locale.ROOT, "peak resident memory: %.0f MB%n", rss / 1024.0);
        if (json != null) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("machine", Bench.machine());
            doc.put("results", results);
            if (!recipeRows.isEmpty()) doc.put("recipes", recipeRows);
            doc.put("peak_rss_mb", rss / 1024.0);
            AtomicFiles.writeString(json, Json.text(doc) + "\n");
        }
    }

    /** Training steps (train) and their phases (phases) of model {@code m} in each precision and memory format. */
    private void stepFigures(List<Bench.Result> results, String m) {
        for (String p : precisions) {
            for (String mf : memoryFormats) {
                boolean cl = switch (mf) {
                    case "nhwc", "channels-last" -> true;
                    case "nchw" -> false;
                    default -> throw new UserException("--memory-format: expected nchw or nhwc, got " + mf);
                };
                if (only.contains("train"))
                    print(results, Bench.train(m, Precision.of(p), cl, batch, warmup, steps, repeats));
                if (only.contains("phases"))
                    for (Bench.Result r : Bench.phases(m, Precision.of(p), cl, batch, warmup, steps, repeats))
                        print(results, r);
            }
        }
    }

    /** Inference of model {@code m} at batch 1 and at --batch, in each precision and memory format. */
    private void predictFigures(List<Bench.Result> results, String m) {
        for (String p : precisions) {
            for (String mf : memoryFormats) {
                print(results, Bench.predict(m, Precision.of(p), mf.equals("nhwc"), 1, 10, 100, repeats));
                print(results, Bench.predict(m, Precision.of(p), mf.equals("nhwc"), batch, warmup, steps, repeats));
            }
        }
    }

    /** The loader feeding training steps, per model and memory format, without and with the decoded cache. */
    private void epochFigures(List<Bench.Result> results) {
        Path c = folder(cifar, "--cifar");
        for (String m : models) {
            for (String mf : memoryFormats)
                print(results, Bench.epoch(c, m, mf.equals("nhwc"), workers, batch, 200, 5));
            for (String mf : memoryFormats)
                print(results, Bench.epoch(c, m, mf.equals("nhwc"), workers, batch, 200, 5, true));
        }
    }

    /** Trains --config as a recipe, prints (and with --table appends) its row, and returns it for the JSON. */
    private Map<String, Object> recipeFigure() {
        if (recipe == null) throw new UserException("--only recipe needs --config FILE (the recipe to train)");
        if (epochs < 0) throw new UserException("--epochs must be 0 (the config's) or more, got " + epochs);
        String base = recipe.getFileName().toString().replaceFirst("\\.ya?ml$", "");
        Path dir = runDir != null ? runDir : Path.of("runs", "bench-" + base);
        System.out.println(Bench.machine());
        RecipeBench.Row row = RecipeBench.run(recipe, overrides, epochs, dir, flip);
        System.out.print(RecipeBench.Row.HEADER + row.markdown());
        if (table != null) RecipeBench.append(table, row);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("what", "recipe");
        r.put("row", row);
        return r;
    }

    /** The folder an option names, else the bundled sample (relative to the launcher's directory or the current one). */
    private static Path folder(Path given, String option) {
        Path p = given != null ? given : Path.of("samples/flowers");
        if (!Files.isDirectory(p))
            throw new UserException(option + " " + p + ": not a folder of class folders with images");
        return p;
    }

    private static boolean headerDone;

    static void print(List<Bench.Result> results, Bench.Result r) {
        if (!headerDone) {
            System.out.println(Bench.machine());
            System.out.printf(
                    "%-16s %-10s %-11s %-6s %5s %10s %21s%n",
                    "what", "model", "precision", "NHWC", "batch", "median", "min – max");
            headerDone = true;
        }
        results.add(r);
        System.out.printf(
                Locale.ROOT,
                "%-16s %-10s %-11s %-6s %5d %10.1f %10.1f – %-9.1f %s%n",
                r.what(),
                r.model(),
                r.precision(),
                r.channelsLast() ? "yes" : "no",
                r.batch(),
                r.median(),
                r.min(),
                r.max(),
                r.unit());
        System.out.flush();
    }
}
