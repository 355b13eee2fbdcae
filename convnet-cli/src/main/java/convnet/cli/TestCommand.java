package convnet.cli;

import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.eval.ClassScores;
import convnet.eval.Metrics;
import convnet.run.TestRun;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "test",
        mixinStandardHelpOptions = true,
        description =
                "Evaluate a trained run: top-1, top-5, loss; per class precision, recall (the class's accuracy), F1 and"
                        + " support with their macro and weighted averages (also in RUN/test/report.csv); the confusion"
                        + " matrix (RUN/test/confusion.csv, .png). On the validation split unless --data is given.")
final class TestCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Parameters(
            index = "0..*",
            arity = "1..*",
            paramLabel = "RUN",
            description = "Run directories; with several, their softmax posteriors are averaged (model fusion).")
    List<Path> runs;

    @Option(
            names = "--checkpoint",
            paramLabel = "model|best|last|PATH",
            defaultValue = "model",
            description = "Weights to test: the model bundle (default), or a checkpoint.")
    String checkpoint;

    @Option(
            names = "--data",
            paramLabel = "PATH",
            description = "A dataset to test on instead of the validation split: a folder per class, a CSV manifest"
                    + " (.csv with the columns path,label), or with --labels a flat folder of images.")
    Path data;

    @Option(
            names = "--labels",
            paramLabel = "FILE",
            description = "The labels file of a flat --data folder: 'filename label' lines, or filename,label rows"
                    + " in a .csv (ImageNet's LOC_val_solution.csv as it comes).")
    Path labels;

    @Option(names = "--precision", defaultValue = "32", description = "32 or bf16-mixed.")
    String precision;

    @Option(
            names = "--dense",
            description = "Dense evaluation: fully-connected layers as convolutions over the whole rescaled image.")
    boolean dense;

    @Option(
            names = "--crops",
            defaultValue = "0",
            paramLabel = "N",
            description = "Multi-crop: an N×N grid of crops per scale.")
    int crops;

    @Option(
            names = "--scales",
            split = ",",
            paramLabel = "Q,...",
            description = "Test scales (shorter side), e.g. 224,256,288.")
    List<Integer> scales;

    @Option(names = "--multi-scale", description = "Scales {S-32, S, S+32} around the training scale S.")
    boolean multiScale;

    @Option(names = "--flip", description = "Average the posteriors of each view and its mirror image.")
    boolean flip;

    @Option(
            names = "--ema",
            description = "Test the checkpoint's average of the weights (train.ema) instead of its raw weights;"
                    + " without --checkpoint, the last checkpoint's.")
    boolean ema;

    @Option(names = "--json", description = "Print one JSON document on stdout and nothing else there.")
    boolean json;

    @Override
    public void run() {
        if (json) Logs.quiet();
        Engine.start(common.threads);
        TestRun.Report r = TestRun.test(
                runs,
                new TestRun.Options(
                        checkpoint,
                        data,
                        Precision.of(precision),
                        scales,
                        multiScale,
                        dense,
                        crops,
                        flip,
                        ema,
                        labels));
        Metrics m = r.metrics();
        List<String> classes = r.classes();
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("runs", runs.stream().map(Path::toString).toList());
            doc.put("split", r.split());
            doc.put("weights", r.weights());
            doc.put("method", r.method().describe());
            doc.put("images", m.count());
            doc.put("top1", m.top1());
            doc.put("top5", m.top5());
            doc.put("loss", m.loss());
            Map<String, Object> per = new LinkedHashMap<>();
            for (int c = 0; c < classes.size(); c++)
                per.put(classes.get(c), Double.isNaN(m.perClass()[c]) ? null : m.perClass()[c]);
            doc.put("per_class", per);
            ClassScores s = m.classScores();
            Map<String, Object> byClass = new LinkedHashMap<>();
            for (int c = 0; c < classes.size(); c++)
                byClass.put(classes.get(c), scores(s.precision()[c], s.recall()[c], s.f1()[c], s.support()[c]));
            doc.put("per_class_report", byClass);
            doc.put("macro_avg", average(s.macro()));
            doc.put("weighted_avg", average(s.weighted()));
            doc.put("confusion", m.confusion());
            doc.put("report_csv", r.reportCsv().toString());
            doc.put("confusion_csv", r.confusionCsv().toString());
            Json.print(doc);
        } else {
            System.out.printf(
                    Locale.ROOT,
                    "%s on %s (%d images, %s%s): top-1 %.4f  top-5 %.4f  loss %.4f%n",
                    String.join(" + ", runs.stream().map(Path::toString).toList()),
                    r.split(),
                    m.count(),
                    r.method().describe(),
                    runs.size() > 1 ? ", " + runs.size() + " models fused" : "",
                    m.top1(),
                    m.top5(),
                    m.loss());
            System.out.print(table(classes, m.classScores()));
            System.out.println(
                    "report: " + r.reportCsv() + "; confusion matrix: " + r.confusionCsv() + ", " + r.confusionPng());
        }
    }

    /**
     * The per-class report as a console table: precision, recall, F1, support per class, then the macro and
     * weighted averages; a class with no figures (neither in the data nor predicted) shows "-".
     */
    static String table(List<String> classes, ClassScores s) {
        int w = "weighted avg".length();
        for (String c : classes) w = Math.max(w, c.length());
        String row = "%-" + w + "s  %9s  %9s  %9s  %8s%n";
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, row, "class", "precision", "recall", "f1", "support"));
        for (int c = 0; c < classes.size(); c++) {
            sb.append(String.format(
                    Locale.ROOT,
                    row,
                    classes.get(c),
                    figure(s.precision()[c]),
                    figure(s.recall()[c]),
                    figure(s.f1()[c]),
                    s.support()[c]));
        }
        for (var avg : List.of(Map.entry("macro avg", s.macro()), Map.entry("weighted avg", s.weighted()))) {
            ClassScores.Average a = avg.getValue();
            sb.append(String.format(
                    Locale.ROOT,
                    row,
                    avg.getKey(),
                    figure(a.precision()),
                    figure(a.recall()),
                    figure(a.f1()),
                    a.support()));
        }
        return sb.toString();
    }

    private static String figure(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static Map<String, Object> scores(double precision, double recall, double f1, long support) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("precision", Double.isNaN(precision) ? null : precision);
        m.put("recall", Double.isNaN(recall) ? null : recall);
        m.put("f1", Double.isNaN(f1) ? null : f1);
        m.put("support", support);
        return m;
    }

    private static Map<String, Object> average(ClassScores.Average a) {
        return scores(a.precision(), a.recall(), a.f1(), a.support());
    }
}
