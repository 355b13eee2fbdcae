package convnet.serve;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code multipart/form-data} bodies (RFC 7578, RFC 2046 §5.1): each part's field name, file name and bytes. */
final class Multipart {
    private Multipart() {}

    /** One part; {@code filename} is null when the part names none. */
    record Part(String name, String filename, byte[] data) {}

    static boolean isMultipart(String contentType) {
        return contentType != null
                && contentType.trim().toLowerCase(Locale.ROOT).startsWith("multipart/form-data");
    }

    /** The {@code boundary} parameter of a {@code multipart/form-data} content type. */
    static String boundary(String contentType) {
        int semicolon = contentType.indexOf(';');
        String boundary = semicolon < 0
                ? null
                : parameters(contentType.substring(semicolon)).get("boundary");
        if (boundary == null || boundary.isEmpty() || boundary.length() > 70)
            throw HttpError.badRequest("multipart/form-data needs a boundary parameter of 1 to 70 characters"
                    + " (Content-Type: " + contentType + ")");
        return boundary;
    }

    /** The parts of {@code body}, at most {@code maxParts} of them. */
    static List<Part> parse(byte[] body, String boundary, int maxParts) {
        byte[] dash = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        Finder delimiter = new Finder(("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1));
        // the first boundary line may open the body, or follow a preamble and a line break
        int at = 0;
        if (!startsWith(body, 0, dash)) {
            int first = delimiter.in(body, 0);
            if (first < 0) throw HttpError.badRequest("multipart body without its boundary line '--" + boundary + "'");
            at = first + 2;
        }
        List<Part> parts = new ArrayList<>();
        while (true) {
            int after = at + dash.length;
            if (startsWith(body, after, new byte[] {'-', '-'})) break; // the close delimiter
            while (after < body.length && (body[after] == ' ' || body[after] == '\t')) after++;
            if (!startsWith(body, after, CRLF))
                throw HttpError.badRequest("multipart body: a boundary line not followed by a line break");
            int headersStart = after + 2, contentStart;
            Map<String, String> headers;
            if (startsWith(body, headersStart, CRLF)) {
                headers = Map.of();
                contentStart = headersStart + 2;
            } else {
                int headersEnd = HEADERS_END.in(body, headersStart);
                if (headersEnd < 0) throw HttpError.badRequest("multipart body cut short in a part's headers");
                headers = headers(new String(body, headersStart, headersEnd - headersStart, StandardCharsets.UTF_8));
                contentStart = headersEnd + 4;
            }
            int end = delimiter.in(body, contentStart);
            if (end < 0)
                throw HttpError.badRequest("multipart body cut short: no closing boundary '--" + boundary
                        + "--' after part " + (parts.size() + 1));
            if (parts.size() == maxParts) throw HttpError.tooLarge("more than " + maxParts + " images in one request");
            Map<String, String> disposition = parameters(headers.getOrDefault("content-disposition", ""));
            byte[] data = Arrays.copyOfRange(body, contentStart, end);
            parts.add(new Part(disposition.get("name"), filename(disposition), data));
            at = end + 2;
        }
        if (parts.isEmpty()) throw HttpError.badRequest("multipart body without any part");
        return parts;
    }

    private static final byte[] CRLF = {'\r', '\n'};
    private static final Finder HEADERS_END = new Finder(new byte[] {'\r', '\n', '\r', '\n'});

    private static boolean startsWith(byte[] b, int at, byte[] prefix) {
        if (at < 0 || at + prefix.length > b.length) return false;
        for (int i = 0; i < prefix.length; i++) if (b[at + i] != prefix[i]) return false;
        return true;
    }

    /** Header lines, names in lower case. */
    private static Map<String, String> headers(String block) {
        Map<String, String> h = new LinkedHashMap<>();
        for (String line : block.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0)
                h.put(
                        line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        line.substring(colon + 1).trim());
        }
        return h;
    }

    /**
     * The {@code ; key=value} parameters after a header's first value, keys in lower case; values are tokens or
     * quoted strings with backslash escapes.
     */
    static Map<String, String> parameters(String header) {
        Map<String, String> out = new LinkedHashMap<>();
        int i = header.indexOf(';');
        while (i >= 0 && i < header.length()) {
            i++;
            int eq = header.indexOf('=', i), semi = header.indexOf(';', i);
            if (eq < 0 || (semi >= 0 && semi < eq)) {
                i = semi;
                continue;
            }
            String key = header.substring(i, eq).trim().toLowerCase(Locale.ROOT);
            int v = eq + 1;
            while (v < header.length() && header.charAt(v) == ' ') v++;
            StringBuilder value = new StringBuilder();
            if (v < header.length() && header.charAt(v) == '"') {
                for (v++; v < header.length() && header.charAt(v) != '"'; v++) {
                    char c = header.charAt(v);
                    if (c == '\\' && v + 1 < header.length()) c = header.charAt(++v);
                    value.append(c);
                }
                i = header.indexOf(';', v);
            } else {
                int stop = header.indexOf(';', v);
                value.append(header, v, stop < 0 ? header.length() : stop);
                i = stop;
            }
            out.putIfAbsent(key, value.toString().trim());
        }
        return out;
    }

    /** {@code filename*=UTF-8''...} (RFC 5987) where given, else {@code filename}. */
    private static String filename(Map<String, String> disposition) {
        String extended = disposition.get("filename*");
        if (extended != null) {
            int quotes = extended.indexOf("''");
            if (quotes > 0) return percentDecoded(extended.substring(quotes + 2));
        }
        return disposition.get("filename");
    }

    private static String percentDecoded(String s) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); ) {
            int hex = s.charAt(i) == '%' ? hex(s, i + 1) : -1;
            if (hex >= 0) {
                b.write(hex);
                i += 3;
            } else {
                int cp = s.codePointAt(i);
                b.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
                i += Character.charCount(cp);
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    private static int hex(String s, int at) {
        if (at + 2 > s.length()) return -1;
        int hi = Character.digit(s.charAt(at), 16), lo = Character.digit(s.charAt(at + 1), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    /** Boyer-Moore-Horspool search for one byte string: a 20 MB body is scanned in a few milliseconds. */
    static final class Finder {
        private final byte[] needle;
        private final int[] shift = new int[256];

        Finder(byte[] needle) {
            this.needle = needle;
            Arrays.fill(shift, needle.length);
            for (int i = 0; i < needle.length - 1; i++) shift[needle[i] & 0xff] = needle.length - 1 - i;
        }

        /** The first index of the needle in {@code hay} at or after {@code from}, or -1. */
        int in(byte[] hay, int from) {
            int m = needle.length;
            for (int i = Math.max(0, from); i <= hay.length - m; i += shift[hay[i + m - 1] & 0xff]) {
                int j = m - 1;
                while (j >= 0 && hay[i + j] == needle[j]) j--;
                if (j < 0) return i;
            }
            return -1;
        }
    }
}
