package convnet.cli;

import convnet.UserException;
import convnet.data.ImageFolder;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.eval.Classifier;
import convnet.run.RunDir;
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
import picocli.CommandLine.Parameters;

@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        description = "Classify image files with a trained run: top-k class names and probabilities.")
final class PredictCommand implements java.util.concurrent.Callable<Integer> {
    @Mixin
    Common common;

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
        Classifier classifier = Classifier.load(modelDir, Precision.of(precision));
        List<Classifier.Result> results = classifier.predictAll(files, topK, batch);
        int failed = 0;
        List<Object> docs = new ArrayList<>();
        for (Classifier.Result r : results) {
            if (r.error() != null) {
                failed++;
                System.err.println("error: " + r.file() + ": " + r.error());
            }
            if (json) {
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("file", r.file().toString());
                if (r.error() != null) d.put("error", r.error());
                List<Object> top = new ArrayList<>();
                for (Classifier.Guess g : r.top()) {
                    Map<String, Object> guess = new LinkedHashMap<>(); // label, index, probability in this order
                    guess.put("label", g.label());
                    guess.put("index", g.index());
                    guess.put("probability", g.probability());
                    top.add(guess);
                }
                d.put("top", top);
                docs.add(d);
            } else if (r.error() == null) {
                StringBuilder sb = new StringBuilder(r.file().toString()).append(':');
                for (Classifier.Guess g : r.top())
                    sb.append(String.format(Locale.ROOT, "  %s %.4f", g.label(), g.probability()));
                System.out.println(sb);
            }
        }
        if (json) {
            Json.print(Map.of("predictions", docs));
        }
        return failed == 0 ? 0 : 2;
    }
}
