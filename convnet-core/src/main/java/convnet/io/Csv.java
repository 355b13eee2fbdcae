package convnet.io;

import convnet.UserException;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The one CSV writer and reader of convnet (RFC 4180): fields holding a comma, a double quote or a line
 * break are quoted, quotes doubled. Every CSV file convnet writes or reads goes through here.
 */
public final class Csv {
    private final StringBuilder text = new StringBuilder();

    /** A table that starts with {@code header} (none if empty). */
    public Csv(String... header) {
        if (header.length > 0) row((Object[]) header);
    }

    /** Appends a row; values are written with {@link String#valueOf}. */
    public Csv row(Object... fields) {
        for (int i = 0; i < fields.length; i++) {
            if (i > 0) text.append(',');
            text.append(field(String.valueOf(fields[i])));
        }
        text.append('\n');
        return this;
    }

    public Csv row(List<?> fields) {
        return row(fields.toArray());
    }

    /** Writes the table atomically. */
    public void write(Path file) {
        AtomicFiles.writeString(file, text.toString());
    }

    @Override
    public String toString() {
        return text.toString();
    }

    /**
     * A CSV file written row by row as results come, for tables too large to hold: rows go through a buffer to
     * the file, and {@link #flush()} pushes them out (so that a reader of the file sees every row flushed so far).
     * Not atomic: an interrupted writer leaves the rows written until then.
     */
    public static final class Streaming implements AutoCloseable {
        private final Path file;
        private final Writer out;

        private Streaming(Path file, Writer out) {
            this.file = file;
            this.out = out;
        }

        /** Creates (or truncates) {@code file}, and the folders above it. */
        public static Streaming open(Path file) {
            try {
                Path dir = file.toAbsolutePath().getParent();
                if (dir != null) Files.createDirectories(dir);
                return new Streaming(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UserException("cannot write " + file + ": " + reason(e));
            }
        }

        private static String reason(IOException e) {
            if (e instanceof AccessDeniedException) return "permission denied";
            if (e instanceof FileAlreadyExistsException f) return f.getFile() + " is a file, not a folder";
            if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
            return e.getMessage();
        }

        public Streaming row(Object... fields) {
            try {
                for (int i = 0; i < fields.length; i++) {
                    if (i > 0) out.write(',');
                    out.write(field(String.valueOf(fields[i])));
                }
                out.write('\n');
            } catch (IOException e) {
                throw new UserException("cannot write " + file + ": " + e.getMessage());
            }
            return this;
        }

        public Streaming row(List<?> fields) {
            return row(fields.toArray());
        }

        public void flush() {
            try {
                out.flush();
            } catch (IOException e) {
                throw new UserException("cannot write " + file + ": " + e.getMessage());
            }
        }

        @Override
        public void close() {
            try {
                out.close();
            } catch (IOException e) {
                throw new UserException("cannot write " + file + ": " + e.getMessage());
            }
        }
    }

    public static String field(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r"))
            return "\"" + s.replace("\"", "\"\"") + "\"";
        return s;
    }

    /** The rows of {@code text} (header included), each a list of fields; quoted fields may hold commas, quotes and line breaks. */
    public static List<List<String>> parse(String text, String source) {
        List<List<String>> rows = new ArrayList<>();
        for (Row r : rows(text, source)) rows.add(r.fields());
        return rows;
    }

    /** A parsed row and the line of the text it starts on (1-based; a quoted line break makes a row span lines). */
    public record Row(int line, List<String> fields) {}

    /**
     * The rows of {@code text} with the lines they start on; blank lines are skipped, CRLF and LF both end a
     * row. A quoted field left open, or followed by anything but a comma or a line end after its closing quote
     * (a quote missing its pair, that took the next quote as its end), is an error naming the line where its
     * quote opened.
     */
    public static List<Row> rows(String text, String source) {
        List<Row> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false, closed = false, any = false;
        int line = 1, rowLine = 1, quoteLine = 1;
        for (int k = 0; k < text.length(); k++) {
            char c = text.charAt(k);
            if (quoted) {
                if (c == '"' && k + 1 < text.length() && text.charAt(k + 1) == '"') {
                    cur.append('"');
                    k++;
                } else if (c == '"') {
                    quoted = false;
                    closed = true;
                } else {
                    if (c == '\n') line++;
                    cur.append(c);
                }
            } else if (closed && c != ',' && c != '\n' && c != '\r') {
                throw new UserException(source + " line " + quoteLine + ": the quoted field opened here "
                        + (line == quoteLine ? "" : "closes on line " + line + " and ") + "is followed by '" + c
                        + "' after its closing quote (expected a comma or the end of the line; a quote missing"
                        + " its pair? a \" inside a quoted field is written \"\")");
            } else if (c == '"' && cur.length() == 0) {
                quoted = any = true;
                quoteLine = line;
            } else if (c == ',') {
                closed = false;
                row.add(cur.toString());
                cur.setLength(0);
                any = true;
            } else if (c == '\n' || c == '\r') {
                if (c == '\r' && k + 1 < text.length() && text.charAt(k + 1) == '\n') k++;
                if (any || cur.length() > 0) {
                    row.add(cur.toString());
                    rows.add(new Row(rowLine, row));
                }
                row = new ArrayList<>();
                cur.setLength(0);
                any = closed = false;
                line++;
                rowLine = line;
            } else {
                cur.append(c);
                any = true;
            }
        }
        if (quoted)
            throw new UserException(source + " line " + quoteLine + ": a quoted field is not closed (expected a"
                    + " closing \" before the end of the file; a \" inside a quoted field is written \"\")");
        if (any || cur.length() > 0) {
            row.add(cur.toString());
            rows.add(new Row(rowLine, row));
        }
        return rows;
    }

    /** The rows of {@code file} after its header, each with exactly {@code columns} fields. */
    public static List<String[]> read(Path file, int columns) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UserException("cannot read " + file + ": " + e.getMessage());
        }
        List<List<String>> rows = parse(text, file.toString());
        List<String[]> out = new ArrayList<>();
        for (int i = 1; i < rows.size(); i++) {
            List<String> f = rows.get(i);
            if (f.size() == 1 && f.get(0).isBlank()) continue;
            if (f.size() != columns)
                throw new UserException(
                        file + " row " + (i + 1) + ": expected " + columns + " columns, found " + f.size());
            out.add(f.toArray(new String[0]));
        }
        return out;
    }
}
