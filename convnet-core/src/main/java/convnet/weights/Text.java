package convnet.weights;

import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a weights file holds, shown in an error message: short, on one line, and without walking a
 * structure deeper than two levels (a hostile pickle may nest a million levels, or refer to itself).
 */
final class Text {
    private Text() {}

    private static final int MAX_CHARS = 120;
    private static final int MAX_ITEMS = 6;
    private static final int MAX_LEVELS = 2;

    /** {@code value} as one short line: control characters escaped, long text cut, containers summarised. */
    static String shown(Object value) {
        StringBuilder b = new StringBuilder();
        append(b, value, 0);
        return clip(b);
    }

    private static void append(StringBuilder b, Object v, int level) {
        if (b.length() > MAX_CHARS) return;
        if (v instanceof List<?> list) {
            boolean tuple = v instanceof Unpickler.PList p && p.tuple;
            items(b, list.iterator(), list.size(), tuple ? "(" : "[", tuple ? ")" : "]", level);
        } else if (v instanceof Map<?, ?> map) {
            items(b, map.entrySet().iterator(), map.size(), "{", "}", level);
        } else if (v instanceof Map.Entry<?, ?> e) {
            append(b, e.getKey(), level);
            b.append(": ");
            append(b, e.getValue(), level);
        } else if (v instanceof byte[] bytes) {
            b.append("<").append(bytes.length).append(" bytes>");
        } else {
            String s = String.valueOf(v);
            b.append(s, 0, Math.min(s.length(), MAX_CHARS + 1));
        }
    }

    private static void items(StringBuilder b, Iterator<?> it, int size, String open, String close, int level) {
        if (level >= MAX_LEVELS) {
            b.append(open).append(size == 0 ? "" : "...").append(close);
            return;
        }
        b.append(open);
        for (int i = 0; it.hasNext() && b.length() <= MAX_CHARS; i++) {
            if (i > 0) b.append(", ");
            if (i == MAX_ITEMS) {
                b.append("...");
                break;
            }
            append(b, it.next(), level + 1);
        }
        b.append(close);
    }

    private static String clip(CharSequence s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            if (out.length() >= MAX_CHARS) {
                out.append("...");
                break;
            }
            char c = s.charAt(i);
            if (c == '\n') out.append("\\n");
            else if (c == '\r') out.append("\\r");
            else if (c == '\t') out.append("\\t");
            else if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029')
                out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.toString();
    }

    /** A byte count for people: {@code 2 KB}, {@code 1.5 GB}, {@code 8 EB} (powers of 1024). */
    static String bytes(long n) {
        if (n < 1024) return n + " bytes";
        String[] units = {"KB", "MB", "GB", "TB", "PB", "EB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return (v < 10 && v != Math.floor(v)
                        ? String.format(Locale.ROOT, "%.1f", v)
                        : String.format(Locale.ROOT, "%.0f", Math.floor(v)))
                + " " + units[u];
    }
}
