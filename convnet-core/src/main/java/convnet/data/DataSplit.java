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

    /**
     * Train and validation samples of {@code train}: a processed dir (its own split, or {@code val}),
     * an explicit {@code val} folder, a {@code train/} + {@code val/} (or {@code test/}) pair, or a
     * stratified split of {@code valFraction} with {@code seed}.
     */
    public static DataSplit of(Path train, Path val, double valFraction, long seed) {
        if (ProcessedDir.is(train)) {
            ProcessedDir p = ProcessedDir.read(train);
            List<Sample> v = val != null ? ImageFolder.scan(val, p.classes).samples : p.val;
            return new DataSplit(p.classes, p.train, v, p);
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
            return new DataSplit(folder.classes, folder.samples, ImageFolder.scan(val, folder.classes).samples, null);
        List<List<Sample>> split = ImageFolder.split(folder.samples, folder.classes.size(), valFraction, seed);
        return new DataSplit(folder.classes, split.get(0), split.get(1), null);
    }
}
