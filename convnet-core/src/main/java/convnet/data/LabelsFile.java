package convnet.data;

import convnet.UserException;
import convnet.io.Csv;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * An ImageNet-style folder: the images side by side in one folder, and a labels file that gives each its class.
 * The labels file is either text, one {@code filename label} per line (separated by spaces or tabs), or, when
 * its name ends in {@code .csv}, CSV rows {@code filename,label}. A first line naming columns ({@code path},
 * {@code file}, {@code filename}, {@code image}, {@code image_id} or {@code ImageId}) is a header. ImageNet's
 * {@code LOC_val_solution.csv} is read as it comes: its {@code ImageId}s have no extension (the folder's
 * {@code ILSVRC2012_val_00000001.JPEG} is found), and the label is the first word of its
 * {@code PredictionString} (the synset; the boxes after it are ignored).
 */
public final class LabelsFile {
    private LabelsFile() {}

    static final Set<String> HEADER_WORDS =
            Set.of("path", "file", "filename", "file_name", "image", "image_id", "imageid");

    public static Dataset read(Path folder, Path labels, List<String> classes) {
        if (!Files.isDirectory(folder)) {
            throw new UserException(
                    "image folder not found: " + folder + " (the folder whose images " + labels + " labels)");
        }
        String text = Manifest.text(labels, "labels file");
        boolean csv = labels.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv");
        List<Csv.Row> rows = csv ? Csv.rows(text, labels.toString()) : words(text);
        boolean header = !rows.isEmpty()
                && HEADER_WORDS.contains(rows.get(0).fields().get(0).strip().toLowerCase(Locale.ROOT));
        boolean firstWord = header
                && rows.get(0).fields().size() > 1
                && rows.get(0).fields().get(1).strip().equalsIgnoreCase("PredictionString");
        int columns = header ? rows.get(0).fields().size() : 2;
        if (columns < 2) {
            throw new UserException(labels + " line " + rows.get(0).line()
                    + ": the header names one column; expected two, the file name and the label (e.g. filename,label)");
        }
        Path base = folder.toAbsolutePath().normalize();
        Stems stems = new Stems(base);
        List<Dataset.Entry> entries = new ArrayList<>();
        for (Csv.Row r : header ? rows.subList(1, rows.size()) : rows) {
            List<String> f = r.fields();
            if (f.size() != columns) {
                String expected = csv
                        ? columns + " fields (filename,label" + (columns > 2 ? ",..." : "") + ")"
                        : "'filename label' (two fields separated by spaces)";
                String hint = !csv && f.size() == 1 && f.get(0).contains(",")
                        ? "; a labels file of filename,label rows is read as CSV when its name ends in .csv"
                        : "";
                throw new UserException(
                        labels + " line " + r.line() + ": expected " + expected + ", found " + f.size() + hint);
            }
            String written = f.get(0), label = f.get(1);
            if (firstWord) label = label.strip().split("\\s+", 2)[0];
            Path file = Manifest.resolve(labels, r.line(), base, written);
            if (!Files.exists(file)) file = stems.find(written, file);
            entries.add(new Dataset.Entry(r.line(), written, file, label));
        }
        return Dataset.of(
                labels,
                entries,
                classes,
                csv ? "rows of filename,label" : "lines of 'filename label' naming images in " + folder);
    }

    /** The non-blank lines of a text labels file, each split on spaces and tabs. */
    private static List<Csv.Row> words(String text) {
        List<Csv.Row> rows = new ArrayList<>();
        String[] lines = text.split("\r\n|\n|\r", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (!line.isEmpty()) rows.add(new Csv.Row(i + 1, List.of(line.split("\\s+"))));
        }
        return rows;
    }

    /** The folder's images by name without extension, listed once when a name without one is first looked up. */
    private static final class Stems {
        private final Path folder;
        private Map<String, Path> byStem;

        Stems(Path folder) {
            this.folder = folder;
        }

        /** The image {@code written} names without its extension, or {@code missing} when there is none or several. */
        Path find(String written, Path missing) {
            if (written.contains("/") || written.contains(".")) return missing;
            if (byStem == null) byStem = list();
            Path p = byStem.get(written);
            return p != null ? p : missing;
        }

        private Map<String, Path> list() {
            Map<String, Path> m = new HashMap<>();
            Set<String> ambiguous = new HashSet<>();
            try (Stream<Path> s = Files.list(folder)) {
                for (Path f : s.filter(ImageFolder::looksLikeImage).toList()) {
                    String n = f.getFileName().toString(), stem = n.substring(0, n.lastIndexOf('.'));
                    if (m.putIfAbsent(stem, f) != null) ambiguous.add(stem);
                }
            } catch (IOException | UncheckedIOException e) {
                throw new UserException("cannot list " + folder + ": " + e.getMessage());
            }
            m.keySet().removeAll(ambiguous);
            return m;
        }
    }
}
