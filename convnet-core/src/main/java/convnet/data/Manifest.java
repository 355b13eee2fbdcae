package convnet.data;

import convnet.UserException;
import convnet.io.Csv;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A CSV manifest: a header naming the columns {@code path} and {@code label} (in any order; other columns are
 * ignored), then one row per image (RFC 4180: quoted fields may hold commas, quotes and line breaks; CRLF or
 * LF). Paths are relative to the manifest's folder, or absolute. The classes are the labels, sorted, unless
 * given (a validation or test set: then every label must be one of them).
 */
public final class Manifest {
    private Manifest() {}

    /** A {@code .csv} path that is not a folder: a dataset is taken as a manifest by its name. */
    public static boolean is(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".csv") && !Files.isDirectory(path);
    }

    public static Dataset read(Path csv, List<String> classes) {
        List<Csv.Row> rows = Csv.rows(text(csv, "manifest"), csv.toString());
        if (rows.isEmpty())
            throw new UserException(csv + ": empty (expected a header path,label and then one row per image)");
        Csv.Row header = rows.get(0);
        int pathColumn = column(header, "path"), labelColumn = column(header, "label");
        if (pathColumn < 0 || labelColumn < 0) {
            throw new UserException(csv + " line " + header.line()
                    + ": expected a header naming the columns path and label (e.g. path,label), found '"
                    + shown(header.fields()) + "'");
        }
        Path base = csv.toAbsolutePath().normalize().getParent();
        List<Dataset.Entry> entries = new ArrayList<>();
        for (Csv.Row r : rows.subList(1, rows.size())) {
            List<String> f = r.fields();
            if (f.size() != header.fields().size()) {
                throw new UserException(csv + " line " + r.line() + ": expected "
                        + header.fields().size() + " fields as the header has (" + shown(header.fields()) + "), found "
                        + f.size());
            }
            String written = f.get(pathColumn);
            entries.add(
                    new Dataset.Entry(r.line(), written, resolve(csv, r.line(), base, written), f.get(labelColumn)));
        }
        return Dataset.of(csv, entries, classes, "rows of path,label after the header");
    }

    /** The file a listed path means: itself when absolute, else relative to {@code base}. */
    static Path resolve(Path list, int line, Path base, String written) {
        if (written.isEmpty()) throw new UserException(list + " line " + line + ": the path is empty");
        try {
            return base.resolve(written).normalize();
        } catch (InvalidPathException e) {
            throw new UserException(
                    list + " line " + line + ": '" + Dataset.oneLine(written) + "' is not a valid path");
        }
    }

    private static int column(Csv.Row header, String name) {
        List<String> f = header.fields();
        for (int i = 0; i < f.size(); i++) {
            if (f.get(i).strip().equalsIgnoreCase(name)) return i;
        }
        return -1;
    }

    /** A row as one line of text, shortened to 80 characters, for a message. */
    static String shown(List<String> fields) {
        String s = Dataset.oneLine(String.join(",", fields));
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    /** A list file's text, without a UTF-8 byte-order mark. */
    static String text(Path file, String what) {
        if (Files.exists(file) && !Files.isRegularFile(file))
            throw new UserException(file + ": not a regular file (expected a " + what + ")");
        try {
            String s = Files.readString(file, StandardCharsets.UTF_8);
            return s.startsWith("\uFEFF") ? s.substring(1) : s;
        } catch (NoSuchFileException e) {
            throw new UserException(what + " not found: " + file);
        } catch (MalformedInputException e) {
            throw new UserException(file + ": not UTF-8 text (expected a " + what + " in UTF-8)");
        } catch (IOException e) {
            throw new UserException("cannot read " + what + " " + file + ": " + e.getMessage());
        }
    }
}
