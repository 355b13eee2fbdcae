package convnet.run;

import convnet.bundle.ModelBundle;
import convnet.model.Summary;
import convnet.report.MetricsCsv;
import convnet.report.Plots;
import convnet.report.ProgressLog;
import convnet.report.TensorBoard;
import convnet.train.CheckpointSaver;
import convnet.train.Checkpoints;
import convnet.train.Metric;
import convnet.train.TrainListener;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The listeners a run is trained with, as named sets: each knows nothing of the others. */
final class RunListeners {
    private static final Logger log = LoggerFactory.getLogger(TrainingRun.class);

    private RunListeners() {}

    private static Charset consoleCharset() {
        return System.console() != null ? System.console().charset() : Charset.defaultCharset();
    }

    /**
     * What a run directory gets — console progress, {@code metrics.csv}, checkpoints and the model
     * bundle, TensorBoard and plots — in the order they must run: the metrics row is written before the
     * checkpoint, the reports after it.
     */
    static List<TrainListener> standard(
            RunDir dir,
            RunConfig config,
            TrainingData data,
            ModelSetup model,
            Checkpoints.State resumed,
            String resolvedYaml,
            boolean terminal,
            boolean savesMidEpoch) {
        RunConfig.Data d = config.data();
        RunConfig.Train t = config.train();
        MetricsCsv metrics = new MetricsCsv(dir.metrics(), resumed.epoch());
        Path events = dir.existingEvents();
        TensorBoard tensorboard = new TensorBoard(
                events != null ? events : dir.newEvents(System.currentTimeMillis() / 1000, TensorBoard.hostName()),
                metrics);
        for (byte[] png : TensorBoard.samplePngs(data.train(), d.evalTransforms(), d.imageSize(), 8))
            tensorboard.addImage(png);
        Summary summary = Summary.of(model.net(), 3, d.imageSize(), d.imageSize());
        log.debug("model {}:\n{}", config.model().name(), summary.format());
        tensorboard.setGraph(summary, config.model().name());
        Metric best = t.bestMetric();
        ModelBundle bundle = new ModelBundle(
                model.net().spec(), data.classes(), d.imageSize(), data.mean(), data.std(), d.evalTransforms());
        CheckpointSaver saver = new CheckpointSaver(
                dir.checkpoints().keepBest(t.keepBest(), best).config(resolvedYaml),
                bundle,
                dir.model(),
                best,
                !data.val().isEmpty(),
                t.checkpointEvery(),
                savesMidEpoch);
        return List.of(
                new ProgressLog(terminal, t.progressSeconds(), System.err, consoleCharset()),
                metrics,
                saver,
                tensorboard,
                new Plots(dir.plots(), metrics, config.name(), data.classes().size() > 5));
    }
}
