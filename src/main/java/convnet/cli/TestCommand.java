package convnet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import convnet.UserException;
import convnet.config.ConfigNode;
import convnet.config.RunConfig;
import convnet.data.ImageFolder;
import convnet.data.Loader;
import convnet.data.Sample;
import convnet.engine.Engine;
import convnet.eval.Evaluator;
import convnet.eval.Metrics;
import convnet.eval.ModelBundle;
import convnet.eval.Predictions;
import convnet.model.Net;
import convnet.report.Files2;
import convnet.report.Logs;
import convnet.train.Checkpoints;
import convnet.train.Precision;
import convnet.train.Training;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "test", mixinStandardHelpOptions = true,
        description = "Evaluate a trained run: top-1, top-5, loss, per-class accuracy and confusion matrix, on the validation split unless --data is given.")
final class TestCommand implements Runnable {
    @Mixin Common common;

    @Parameters(index = "0", paramLabel = "RUN", description = "The run directory.")
    Path run;

    @Option(names = "--checkpoint", paramLabel = "model|best|last|PATH", defaultValue = "model",
            description = "Weights to test: the model bundle (default), or a checkpoint.")
    String checkpoint;

    @Option(names = "--data", paramLabel = "DIR", description = "A folder-per-class dataset to test on instead of the validation split.")
    Path data;

    @Option(names = "--precision", defaultValue = "32", description = "32 or bf16-mixed.")
    String precision;

    @Option(names = "--json", description = "Print one JSON document on stdout and nothing else there.")
    boolean json;

    @Override
    public void run() {
        if (json) Logs.quiet();
        Path modelDir = run.resolve("model");
        ModelBundle bundle = ModelBundle.read(modelDir);
        Engine.start(common.threads);
        Net net = bundle.loadNet(modelDir);
        Checkpoints.State loaded = null;
        if (!checkpoint.equals("model")) {
            Path ckpt = switch (checkpoint) {
                case "best", "last" -> {
                    Path p = new Checkpoints(run).resolve(checkpoint);
                    if (p == null) throw new UserException(run + ": no '" + checkpoint + "' checkpoint");
                    yield p;
                }
                default -> Path.of(checkpoint);
            };
            loaded = Checkpoints.load(ckpt, net, null);
            net.eval();
        }
        List<Sample> samples;
        String split;
        if (data != null) {
            samples = ImageFolder.scan(data, bundle.classes()).samples;
            split = data.toString();
        } else {
            Path cfg = run.resolve("config.yaml");
            if (!Files.isRegularFile(cfg)) throw new UserException(run + ": no config.yaml, so the validation split is unknown; give --data DIR");
            RunConfig rc = RunConfig.from(ConfigNode.load(cfg), Path.of("").toAbsolutePath());
            samples = Training.validationSamples(rc);
            split = "validation";
            if (samples.isEmpty()) throw new UserException(run + ": the run has no validation split (data.val_split is 0); give --data DIR");
        }
        int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
        Predictions p;
        try (Loader loader = new Loader(samples, bundle.evalTransforms(), bundle.mean(), bundle.std(), 64, false, false, 0, workers, Loader.OnBadImage.ERROR)) {
            p = Evaluator.run(net, loader, Precision.of(precision.equals("bf16") ? "bf16-mixed" : precision));
        }
        Metrics m = Metrics.of(p, bundle.classes().size());
        writeConfusion(run.resolve("test"), bundle.classes(), m);
        if (json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("run", run.toString());
            out.put("split", split);
            out.put("weights", loaded == null ? "model" : checkpoint);
            out.put("images", m.count());
            out.put("top1", m.top1());
            out.put("top5", m.top5());
            out.put("loss", m.loss());
            Map<String, Object> per = new LinkedHashMap<>();
            for (int c = 0; c < bundle.classes().size(); c++) per.put(bundle.classes().get(c), Double.isNaN(m.perClass()[c]) ? null : m.perClass()[c]);
            out.put("per_class", per);
            out.put("confusion", m.confusion());
            try {
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        } else {
            System.out.printf(Locale.ROOT, "%s on %s (%d images): top-1 %.4f  top-5 %.4f  loss %.4f%n", run, split, m.count(), m.top1(), m.top5(), m.loss());
            System.out.println("per-class accuracy:");
            for (int c = 0; c < bundle.classes().size(); c++) {
                System.out.printf(Locale.ROOT, "  %-20s %s%n", bundle.classes().get(c), Double.isNaN(m.perClass()[c]) ? "-" : String.format(Locale.ROOT, "%.4f", m.perClass()[c]));
            }
            System.out.println("confusion matrix: " + run.resolve("test").resolve("confusion.csv"));
        }
    }

    static void writeConfusion(Path dir, List<String> classes, Metrics m) {
        StringBuilder sb = new StringBuilder("true\\predicted");
        for (String c : classes) sb.append(',').append(c);
        sb.append('\n');
        for (int i = 0; i < classes.size(); i++) {
            sb.append(classes.get(i));
            for (long v : m.confusion()[i]) sb.append(',').append(v);
            sb.append('\n');
        }
        Files2.writeString(dir.resolve("confusion.csv"), sb.toString());
    }
}
