package convnet.cli;

import convnet.UserException;
import convnet.bench.Bench;
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
    Common common;

    @Option(
            names = "--models",
            split = ",",
            defaultValue = "vgg11bn32,resnet20",
            description = "Peer model names (default: ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--precisions", split = ",", defaultValue = "32,bf16-mixed")
    List<String> precisions;

    @Option(
            names = "--memory-format",
            split = ",",
            defaultValue = "nchw,nhwc",
            description = "Memory formats to try: nchw, nhwc (channels-last) (default: ${DEFAULT-VALUE}).")
    List<String> memoryFormats;

    @Option(names = "--batch", defaultValue = "64")
    int batch;

    @Option(names = "--warmup", defaultValue = "3")
    int warmup;

    @Option(names = "--steps", defaultValue = "20")
    int steps;

    @Option(names = "--repeats", defaultValue = "3")
    int repeats;

    @Option(
            names = "--only",
            split = ",",
            defaultValue = "train,predict,loader",
            description =
                    "Which parts: train, predict, loader, epoch (loader feeding training steps), phases (ms per step in forward, backward, optimizer).")
    List<String> only;

    @Option(
            names = "--cifar",
            paramLabel = "DIR",
            description = "CIFAR-10 train folder for the loader figure (default: ../shared/datasets/cifar10/train).")
    Path cifar;

    @Option(
            names = "--photos",
            paramLabel = "DIR",
            description = "Photo folder for the 224 px loader figure (default: ../shared/datasets/caltech101-10).")
    Path photos;

    @Option(names = "--workers", defaultValue = "2", description = "Loader threads (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the results as JSON here.")
    Path json;

    @Override
    public void run() {
        Engine.start(common.threads);
        List<Bench.Result> results = new ArrayList<>();
        for (String m : models) {
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
            if (only.contains("predict")) {
                for (String p : precisions) {
                    for (String mf : memoryFormats) {
                        print(results, Bench.predict(m, Precision.of(p), mf.equals("nhwc"), 1, 10, 100, repeats));
                        print(
                                results,
                                Bench.predict(m, Precision.of(p), mf.equals("nhwc"), batch, warmup, steps, repeats));
                    }
                }
            }
        }
        if (only.contains("epoch")) {
            Path c = cifar != null ? cifar : Path.of("../shared/datasets/cifar10/train");
            for (String m : models) {
                for (String mf : memoryFormats)
                    print(results, Bench.epoch(c, m, mf.equals("nhwc"), workers, batch, 200, 5));
            }
        }
        if (only.contains("loader")) {
            Path c = cifar != null ? cifar : Path.of("../shared/datasets/cifar10/train");
            Path ph = photos != null ? photos : Path.of("../shared/datasets/caltech101-10");
            if (Files.isDirectory(c)) print(results, Bench.loader(c, "cifar", workers, 64, 200, repeats));
            if (Files.isDirectory(ph)) print(results, Bench.loader(ph, "photo224", workers, 32, 15, repeats));
        }
        long rss = Bench.peakRssKb();
        System.out.printf(Locale.ROOT, "peak resident memory: %.0f MB%n", rss / 1024.0);
        if (json != null) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("machine", Bench.machine());
            doc.put("results", results);
            doc.put("peak_rss_mb", rss / 1024.0);
            AtomicFiles.writeString(json, Json.text(doc) + "\n");
        }
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
