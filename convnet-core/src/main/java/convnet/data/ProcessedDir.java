package convnet.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.UserException;
import convnet.io.Csv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A folder written by {@code convnet preprocess}: categories.csv, train.csv, val.csv, rgb_mean.json and the images. */
public final class ProcessedDir {
    public final Path dir;
    public final List<String> classes;
    public final List<Sample> train, val;
    public final float[] mean, std;

    private ProcessedDir(
            Path dir, List<String> classes, List<Sample> train, List<Sample> val, float[] mean, float[] std) {
        this.dir = dir;
        this.classes = classes;
        this.train = train;
        this.val = val;
        this.mean = mean;
        this.std = std;
    }

    public static boolean is(Path dir) {
        if (PreprocessCommit.pending(dir)) return true;
        return Files.isRegularFile(dir.resolve("categories.csv")) && Files.isRegularFile(dir.resolve("train.csv"));
    }

    public static ProcessedDir read(Path dir) {
        PreprocessCommit.recover(dir); // a preprocess killed while committing: its complete output is moved into place
        List<String> classes = new ArrayList<>();
        List<String[]> cats = readCsv(dir.resolve("categories.csv"), 2);
        for (int i = 0; i < cats.size(); i++) {
            if (!cats.get(i)[0].equals(String.valueOf(i)))
                throw new UserException(dir.resolve("categories.csv") + " line " + (i + 2) + ": expected id " + i);
            classes.add(cats.get(i)[1]);
        }
        List<Sample> train = samples(dir, "train.csv", classes);
        List<Sample> val = Files.isRegularFile(dir.resolve("val.csv")) ? samples(dir, "val.csv", classes) : List.of();
        float[] mean = null, std = null;
        Path rgb = dir.resolve("rgb_mean.json");
        if (Files.isRegularFile(rgb)) {
            try {
                JsonNode j = new ObjectMapper().readTree(rgb.toFile());
                mean = three(j.path("mean"), rgb);
                std = three(j.path("std"), rgb);
            } catch (IOException e) {
                throw new UserException(rgb + ": damaged: " + e.getMessage());
            }
        }
        return new ProcessedDir(dir, List.copyOf(classes), train, val, mean, std);
    }

    private static float[] three(JsonNode n, Path file) {
        if (!n.isArray() || n.size() != 3)
            throw new UserException(file + ": expected mean and std as three numbers each");
        return new float[] {
            (float) n.get(0).asDouble(),
            (float) n.get(1).asDouble(),
            (float) n.get(2).asDouble()
        };
    }

    private static List<Sample> samples(Path dir, String name, List<String> classes) {
        List<Sample> out = new ArrayList<>();
        List<String[]> rows = readCsv(dir.resolve(name), 2);
        for (int i = 0; i < rows.size(); i++) {
            int label = classes.indexOf(rows.get(i)[1]);
            if (label < 0)
                throw new UserException(dir.resolve(name) + " line " + (i + 2) + ": class '" + rows.get(i)[1]
                        + "' is not in categories.csv");
            out.add(new Sample(dir.resolve(rows.get(i)[0]), label));
        }
        return out;
    }

    /** Rows after the header, each with {@code columns} fields. */
    static List<String[]> readCsv(Path file, int columns) {
        return Csv.read(file, columns);
    }
}
