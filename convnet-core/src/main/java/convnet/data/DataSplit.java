package convnet.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A dataset's classes and its training and validation samples. The split is a pure function of the
 * folders, the fraction and the seed, so a later {@code test} recomputes the same validation set.
 *
 * @param processed the {@code preprocess} output the samples came from, or null for an image folder
 */
public record DataSplit(List<String> classes, List<Sample> train, List<Sample> val, ProcessedDir processed) {

    /** {@link #of(Path, Path, Path, Path, double, long)} without labels files. */
    public static DataSplit of(Path train, Path val, double valFraction, long seed) {
        return of(train, null, val, null, valFraction, seed);
    }

    /**
     * Train and validation samples of {@code train}: a processed dir (its own split, or {@code val}), a CSV
     * manifest or a flat folder with a labels file ({@link Dataset#read}), or a folder per class. The validation
     * images are {@code val} (any of those forms, its labels among the training classes), else for a folder a
     * {@code train/} + {@code val/} (or {@code test/}) pair, else a stratified split of {@code valFraction} with
     * {@code seed}.
     */
    public static DataSplit of(Path train, Path trainLabels, Path val, Path valLabels, double valFraction, long seed) {
        if (trainLabels == null && ProcessedDir.is(train)) {
            ProcessedDir p = ProcessedDir.read(train);
            List<Sample> v =
                    val != null ? Dataset.read(val, valLabels, p.classes).samples() : p.val;
            return new DataSplit(p.classes, p.train, v, p);
        }
        if (Dataset.isList(train, trainLabels)) {
            Dataset d = Dataset.read(train, trainLabels, null);
            if (val != null)
                return new DataSplit(
                        d.classes(),
                        d.samples(),
                        Dataset.read(val, valLabels, d.classes()).samples(),
                        null);
            List<List<Sample>> split =
                    ImageFolder.split(d.samples(), d.classes().size(), valFraction, seed);
            return new DataSplit(d.classes(), split.get(0), split.get(1), null);
        }
        Path root = val == null && Files.isDirectory(train.resolve("train")) ? train.resolve("train") : train;
        ImageFolder folder = ImageFolder.scan(root, null);
        if (val == null && !root.equals(train)) {
            for (String name : new String[] {"val", "test"}) {
                if (Files.isDirectory(train.resolve(name))) {
                    val = train.resolve(name);
                    break;
                }
            }
        }
        if (val != null)
            return new DataSplit(
                    folder.classes,
                    folder.samples,
                    Dataset.read(val, valLabels, folder.classes).samples(),
                    null);
        List<List<Sample>> split = ImageFolder.split(folder.samples, folder.classes.size(), valFraction, seed);
        return new DataSplit(folder.classes, split.get(0), split.get(1), null);
    }
}
