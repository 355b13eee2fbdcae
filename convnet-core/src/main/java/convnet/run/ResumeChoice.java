package convnet.run;

import convnet.UserException;
import convnet.report.MetricsCsv;
import convnet.train.Checkpoints;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.bytedeco.pytorch.Optimizer;

/**
 * Which checkpoint a run starts from, loaded into its network and optimizer: none on {@code --restart},
 * the one {@code --resume} names ({@code last}, {@code best} or a path), else the newest usable one in the
 * run directory. Reads only; a refusal leaves the run directory as it was.
 */
final class ResumeChoice {
    private ResumeChoice() {}

    /** The loaded checkpoint, or null to start from scratch. */
    static Checkpoints.Loaded load(RunDir dir, TrainingRun.Options o, ModelSetup model, boolean midEpochAllowed) {
        if (o.restart()) return null;
        Checkpoints checkpoints = dir.checkpoints();
        Optimizer opt = model.optimizer();
        Checkpoints.Loaded loaded;
        if (o.resumeFrom() != null) {
            loaded = Checkpoints.loadFrom(checkpoints.find(o.resumeFrom()), model.net(), opt);
        } else {
            loaded = checkpoints.loadLatestGood(model.net(), opt);
            // the first epoch's row is written just before its checkpoint: a run stopped between the two has
            // nothing to lose and starts over; more rows without any checkpoint mean checkpoints were removed
            if (loaded == null && MetricsCsv.rowCount(dir.metrics()) > 1) {
                throw new UserException(
                        dir.root() + " holds an earlier run without a checkpoint; use --restart to start over");
            }
        }
        if (loaded != null && loaded.state().midEpoch() && !midEpochAllowed) {
            throw new UserException(
                    loaded.path()
                            + " was saved mid-epoch; a data-parallel run resumes only from an epoch's end (--resume PATH of one)");
        }
        return loaded;
    }

    /** Refuses to continue a run on a dataset with other classes than the ones it was trained on. */
    static void checkSameClasses(RunDir dir, List<String> classes) {
        if (!Files.isRegularFile(dir.classes())) return;
        List<String> before;
        try {
            before = Files.readAllLines(dir.classes()).stream()
                    .filter(l -> !l.isEmpty())
                    .toList();
        } catch (IOException e) {
            throw new UserException("cannot read " + dir.classes() + ": " + e.getMessage());
        }
        if (!before.equals(classes)) {
            throw new UserException(
                    "the data's classes " + abbreviate(classes) + " differ from the run's " + abbreviate(before) + " ("
                            + dir.classes() + "); use --restart to start over, or --run DIR for a new run");
        }
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 6 ? names.toString() : names.subList(0, 6) + " and " + (names.size() - 6) + " more";
    }
}
