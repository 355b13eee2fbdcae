package convnet.cli;

import convnet.UserException;
import convnet.data.ImageFolder;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.eval.Classifier;
import convnet.eval.PredictionJson;
import convnet.io.Csv;
import convnet.run.RunDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        description = "Classify image files with a trained run: top-k class names and probabilities.")
final class PredictCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Parameters(index = "0", paramLabel = "RUN", description = "The run directory (or its model/ folder).")
    Path run;

    @Parameters(
            index = "1..*",
            arity = "1..*",
            paramLabel = "FILE_OR_DIR",
            description = "Images, or folders searched for images.")
    List<Path> inputs;

    @Option(
            names = "--top-k",
            defaultValue = "5",
            description = "How many classes to show (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(
            names = "--batch",
            defaultValue = "32",
            description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--precision", defaultValue = "32", description = "32 or bf16-mixed.")
    String precision;

    @Option(names = "--json", description = "Print one JSON document on stdout and nothing else there.")
    boolean json;

    @Option(
            names = "--csv",
            paramLabel = "FILE",
            description = "Write the predictions to FILE as CSV, batch by batch as they are made (nothing is held):"
                    + " path, label, probability, then label_2, probability_2 ... up to the top-k, and error"
                    + " (empty unless the file could not be read). The console then shows a summary only.")
    Path csv;

    @Override
    public Integer call() {
        if (json) Logs.quiet();
        if (topK < 1) throw new UserException("--top-k must be at least 1");
        Path modelDir = RunDir.bundleOf(run);
        if (batch < 1) throw new UserException("--batch must be at least 1, got " + batch);
        // folders are searched for images by content, as training does; a file named explicitly must be one
        List<Path> files = new ArrayList<>();
        List<String[]> skipped = new ArrayList<>();
        for (Path in : inputs) {
            if (Files.isDirectory(in)) files.addAll(ImageFolder.findImages(in, skipped, true));
            else files.add(in);
        }
        if (!skipped.isEmpty()) {
            System.err.printf(
                    Locale.ROOT,
                    "skipped %d file%s in the folders that %s not images: %s%n",
                    skipped.size(),
                    skipped.size() == 1 ? "" : "s",
                    skipped.size() == 1 ? "is" : "are",
                    String.join(
                                    ", ",
                                    skipped.stream()
                                            .limit(5)
                                            .map(a -> Path.of(a[0]).getFileName() + " (" + a[1] + ")")
                                            .toList())
                            + (skipped.size() > 5 ? " and " + (skipped.size() - 5) + " more" : ""));
        }
        Engine.start(common.threads);
        int[] predicted = {0}, failed = {0};
        List<Classifier.Prediction> docs = new ArrayList<>();
        // the CSV is opened first, so that a path that cannot be written fails before the model loads
        try (Csv.Streaming table = csv == null ? null : Csv.Streaming.open(csv);
                Classifier classifier = Classifier.load(modelDir, Precision.of(precision))) {
            int k = Math.min(topK, classifier.classes().size());
            if (table != null) table.row(csvHeader(k)).flush();
            classifier.predictEach(files, topK, batch, results -> {
                for (Classifier.Result r : results) {
                    if (r.error() != null) {
                        failed[0]++;
                        System.err.println("error: " + r.file() + ": " + r.error());
                    } else {
                        predicted[0]++;
                    }
                    if (table != null) table.row(csvRow(r, k));
                    if (json) docs.add(r.prediction());
                    else if (table == null && r.error() == null) System.out.println(line(r));
                }
                if (table != null) table.flush();
                if (!json) System.out.flush();
            });
        }
        if (json) {
            Json.print(PredictionJson.document(docs));
        } else if (csv != null) {
            System.out.printf(
                    Locale.ROOT,
                    "%d image%s predicted into %s%s%n",
                    predicted[0],
                    predicted[0] == 1 ? "" : "s",
                    csv,
                    failed[0] == 0 ? "" : "; " + failed[0] + " could not be read (their rows give the error)");
        }
        return failed[0] == 0 ? 0 : 2;
    }

    static List<String> csvHeader(int k) {
        List<String> h = new ArrayList<>(List.of("path", "label", "probability"));
        for (int i = 2; i <= k; i++) h.addAll(List.of("label_" + i, "probability_" + i));
        h.add("error");
        return h;
    }

    static List<Object> csvRow(Classifier.Result r, int k) {
        List<Object> row = new ArrayList<>(List.of(r.file().toString()));
        for (int i = 0; i < k; i++) {
            if (i < r.top().size()) {
                Classifier.Guess g = r.top().get(i);
                row.add(g.label());
                row.add(String.format(Locale.ROOT, "%.6f", g.probability()));
            } else {
                row.add("");
                row.add("");
            }
        }
        row.add(r.error() == null ? "" : r.error());
        return row;
    }

    private static String line(Classifier.Result r) {
        StringBuilder sb = new StringBuilder(r.file().toString()).append(':');
        for (Classifier.Guess g : r.top())
            sb.append(String.format(Locale.ROOT, "  %s %.4f", g.label(), g.probability()));
        return sb.toString();
    }
}
