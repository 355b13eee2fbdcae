package convnet.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.UserException;
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

    /** Rows after the header, each with {@code columns} fields (double quotes allowed). */
    static List<String[]> readCsv(Path file, int columns) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new UserException("cannot read " + file + ": " + e.getMessage());
        }
        List<String[]> out = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            List<String> f = new ArrayList<>();
            StringBuilder cur = new StringBuilder();
            boolean quoted = false;
            String l = lines.get(i);
            for (int k = 0; k < l.length(); k++) {
                char c = l.charAt(k);
                if (quoted) {
                    if (c == '"' && k + 1 < l.length() && l.charAt(k + 1) == '"') {
                        cur.append('"');
                        k++;
                    } else if (c == '"') {
                        quoted = false;
                    } else {
                        cur.append(c);
                    }
                } else if (c == '"') {
                    quoted = true;
                } else if (c == ',') {
                    f.add(cur.toString());
                    cur.setLength(0);
                } else {
                    cur.append(c);
                }
            }
            f.add(cur.toString());
            if (f.size() != columns)
                throw new UserException(
                        file + " line " + (i + 1) + ": expected " + columns + " columns, found " + f.size());
            out.add(f.toArray(new String[0]));
        }
        return out;
    }
}
