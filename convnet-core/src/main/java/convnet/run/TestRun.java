package convnet.run;

import convnet.UserException;
import convnet.bundle.ModelBundle;
import convnet.config.ConfigNode;
import convnet.data.Dataset;
import convnet.data.Sample;
import convnet.engine.Precision;
import convnet.eval.Evaluation;
import convnet.eval.Metrics;
import convnet.eval.TestTime;
import convnet.model.Net;
import convnet.report.ConfusionPlot;
import convnet.train.Checkpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code convnet test} as a Java call: loads each run's model (or one of its checkpoints), picks the
 * images (the run's validation split, recomputed from its config, or a given folder), scores them with
 * {@link Evaluation} and writes the confusion matrix and the per-class report into the first run's {@code test/}.
 */
public final class TestRun {
    private TestRun() {}

    /**
     * {@code weights}: {@code model} (the bundle), {@code best}, {@code last} or a checkpoint path;
     * {@code data}: a dataset instead of the validation split (null for the split): a folder per class, a CSV
     * manifest, or with {@code labels} a flat folder and its labels file ({@link Dataset#read});
     * {@code ema}: the checkpoint's average of the weights instead of its raw weights (with {@code model},
     * the last checkpoint's); the rest choose the test-time method ({@link Evaluation#method}).
     */
    public record Options(
            String weights,
            Path data,
            Precision precision,
            List<Integer> scales,
            boolean multiScale,
            boolean dense,
            int crops,
            boolean flip,
            boolean ema,
            Path labels) {
        public static final Options DEFAULT =
                new Options("model", null, Precision.FP32, null, false, false, 0, false, false, null);

        /** The weights a report names: {@code weights}, or which checkpoint's average. */
        String describeWeights() {
            return ema ? "ema of " + checkpoint() : weights;
        }

        /** The checkpoint to read: {@code weights}, except that the average of {@code model} means the last one's. */
        String checkpoint() {
            return ema && weights.equals("model") ? "last" : weights;
        }
    }

    /**
     * What a test found, and where the confusion matrix and the per-class report (precision, recall, F1, support)
     * went.
     */
    public record Report(
            List<Path> runs,
            List<String> classes,
            String split,
            String weights,
            TestTime method,
            Metrics metrics,
            Path confusionCsv,
            Path confusionPng,
            Path reportCsv) {}

    public static Report test(List<Path> runs, Options o) {
        if (o.labels() != null && o.data() == null)
            throw new UserException(
                    "a labels file (" + o.labels() + ") needs the folder of its images: give --data DIR");
        List<Evaluation.Model> models = new ArrayList<>();
        for (Path run : runs) models.add(load(new RunDir(run), new RunDir(run).model(), o.checkpoint(), o.ema()));
        ModelBundle first = models.get(0).bundle();
        List<Sample> samples;
        String split;
        if (o.data() != null) {
            samples = Dataset.read(o.data(), o.labels(), first.classes()).samples();
            split = o.data().toString();
        } else {
            samples = validationSamples(new RunDir(runs.get(0)));
            split = "validation";
        }
        TestTime method = Evaluation.method(first, o.scales(), o.multiScale(), o.dense(), o.crops(), o.flip());
        Metrics m = Evaluation.run(models, samples, method, o.precision());
        Path out = new RunDir(runs.get(0)).test();
        Path csv = out.resolve(RunDir.TEST_FILES.get(0)), png = out.resolve(RunDir.TEST_FILES.get(1));
        Path report = out.resolve(RunDir.TEST_FILES.get(2));
        Evaluation.writeConfusion(csv, first.classes(), m);
        ConfusionPlot.write(png, first.classes(), m.confusion());
        Evaluation.writeReport(report, first.classes(), m);
        return new Report(List.copyOf(runs), first.classes(), split, o.describeWeights(), method, m, csv, png, report);
    }

    /**
     * The bundle's network with the chosen weights: {@code model} (the bundle's own), {@code best}, {@code last}
     * or a checkpoint path; with {@code ema}, that checkpoint's average of the weights.
     */
    static Evaluation.Model load(RunDir run, Path bundleDir, String weights, boolean ema) {
        ModelBundle bundle = ModelBundle.read(bundleDir);
        Net net = bundle.loadNet(bundleDir);
        if (ema) {
            Checkpoints.loadAverage(run.checkpoints().find(weights), net);
            net.eval();
        } else if (!weights.equals("model")) {
            Checkpoints.load(run.checkpoints().find(weights), net, null);
            net.eval();
        }
        return new Evaluation.Model(run.root().toString(), bundle, net);
    }

    /** The run's validation images, recomputed from its resolved config. */
    static List<Sample> validationSamples(RunDir run) {
        if (!Files.isRegularFile(run.config())) {
            throw new UserException(
                    run.root() + ": no config.yaml, so the validation split is unknown; give --data DIR");
        }
        RunConfig rc = RunConfig.from(ConfigNode.load(run.config()), Path.of("").toAbsolutePath());
        List<Sample> samples = TrainingData.validationSamples(rc);
        if (samples.isEmpty())
            throw new UserException(
                    run.root() + ": the run has no validation split (data.val_split is 0); give --data DIR");
        return samples;
    }
}
