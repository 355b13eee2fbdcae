package convnet.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** multipart/form-data parsing: several files with their names, the format's corners, and malformed bodies. */
class MultipartTest {
    static final String B = "----convnetBoundary7MA4YWxkTrZu0gW";

    static byte[] bytes(Object... pieces) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (Object p : pieces)
            o.writeBytes(p instanceof byte[] b ? b : p.toString().getBytes(StandardCharsets.UTF_8));
        return o.toByteArray();
    }

    /** Binary data holding CR, LF and dashes, so that only the exact delimiter ends a part. */
    static byte[] binary(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        for (int i = 0; i + 4 < n; i += 97) {
            b[i] = '\r';
            b[i + 1] = '\n';
            b[i + 2] = '-';
            b[i + 3] = '-';
        }
        return b;
    }

    @Test
    void severalFilesKeepTheirNamesBytesAndOrder() {
        byte[] a = binary(5000, 1), b = binary(1, 2), c = binary(70_000, 3);
        byte[] body = bytes(
                "preamble to be ignored\r\n",
                "--" + B + "\r\n",
                "Content-Disposition: form-data; name=\"image\"; filename=\"daisy 1.jpg\"\r\n",
                "Content-Type: image/jpeg\r\n\r\n",
                a,
                "\r\n--" + B + "\r\n",
                "content-disposition: form-data; name=\"image\"; filename=\"we \\\"quote\\\"; semi.png\"\r\n\r\n",
                b,
                "\r\n--" + B + "\r\n",
                "Content-Disposition: form-data; name=\"third\"; filename*=UTF-8''r%C3%B6se%20%E2%9C%93.jpg\r\n\r\n",
                c,
                "\r\n--" + B + "--\r\nepilogue");
        List<Multipart.Part> parts = Multipart.parse(body, B, 64);
        assertEquals(3, parts.size());
        assertEquals("daisy 1.jpg", parts.get(0).filename());
        assertEquals("image", parts.get(0).name());
        assertArrayEquals(a, parts.get(0).data());
        assertEquals("we \"quote\"; semi.png", parts.get(1).filename());
        assertArrayEquals(b, parts.get(1).data());
        assertEquals("röse ✓.jpg", parts.get(2).filename());
        assertEquals("third", parts.get(2).name());
        assertArrayEquals(c, parts.get(2).data());
    }

    @Test
    void aPartWithoutHeadersOrFilename() {
        byte[] body = bytes(
                "--" + B + "\r\n\r\nxyz\r\n--" + B + "\r\nContent-Disposition: form-data; name=f\r\n\r\n",
                "",
                "\r\n--" + B + "--");
        List<Multipart.Part> parts = Multipart.parse(body, B, 64);
        assertEquals(2, parts.size());
        assertNull(parts.get(0).filename());
        assertNull(parts.get(0).name());
        assertArrayEquals(
                "xyz".getBytes(StandardCharsets.US_ASCII), parts.get(0).data());
        assertEquals("f", parts.get(1).name());
        assertEquals(0, parts.get(1).data().length);
    }

    @Test
    void theBoundaryParameter() {
        assertEquals("abc", Multipart.boundary("multipart/form-data; boundary=abc"));
        assertEquals("a b;c", Multipart.boundary("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b;c\""));
        assertTrue(Multipart.isMultipart(" multipart/form-data; boundary=x"));
        assertTrue(!Multipart.isMultipart("image/jpeg") && !Multipart.isMultipart(null));
        HttpError e = assertThrows(HttpError.class, () -> Multipart.boundary("multipart/form-data"));
        assertEquals(400, e.status);
        assertTrue(e.getMessage().contains("boundary"), e.getMessage());
    }

    @Test
    void malformedBodiesAreClientErrors() {
        String head = "--" + B + "\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.jpg\"\r\n\r\n";
        for (byte[] body : List.of(
                bytes("no boundary here at all"),
                bytes(head, "data without a closing boundary"),
                bytes("--" + B + "\r\nContent-Disposition: form-data; name=\"a\""), // headers cut short
                bytes("--" + B + "--\r\n"), // no parts
                bytes("--" + B + "garbage\r\n\r\nx\r\n--" + B + "--"))) {
            HttpError e = assertThrows(HttpError.class, () -> Multipart.parse(body, B, 64), new String(body));
            assertEquals(400, e.status, e.getMessage());
            assertTrue(e.getMessage().startsWith("multipart body"), e.getMessage());
        }
        ByteArrayOutputStream many = new ByteArrayOutputStream();
        for (int i = 0; i < 4; i++) many.writeBytes(bytes(head, "x\r\n"));
        many.writeBytes(bytes("--" + B + "--"));
        HttpError e = assertThrows(HttpError.class, () -> Multipart.parse(many.toByteArray(), B, 3));
        assertEquals(413, e.status);
        assertTrue(e.getMessage().contains("more than 3 images"), e.getMessage());
    }

    @Test
    void theSearchFindsWhatANaiveSearchFinds() {
        Random r = new Random(7);
        for (int round = 0; round < 300; round++) {
            byte[] hay = new byte[r.nextInt(200)], needle = new byte[1 + r.nextInt(4)];
            for (int i = 0; i < hay.length; i++) hay[i] = (byte) ('a' + r.nextInt(3));
            for (int i = 0; i < needle.length; i++) needle[i] = (byte) ('a' + r.nextInt(3));
            int from = hay.length == 0 ? 0 : r.nextInt(hay.length);
            assertEquals(naive(hay, needle, from), new Multipart.Finder(needle).in(hay, from));
        }
    }

    static int naive(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
