package convnet.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** A test client for the server: requests, multipart bodies, JSON answers, and raw requests held half-sent. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String BOUNDARY = "convnet-test-boundary-0123456789";

    final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    final int port;

    Http(int port) {
        this.port = port;
    }

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(150));
    }

    HttpResponse<String> send(HttpRequest r) {
        try {
            return client.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    HttpResponse<String> get(String path) {
        return send(request(path).GET().build());
    }

    HttpResponse<String> post(String path, byte[] body, String contentType) {
        HttpRequest.Builder b = request(path).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) b.header("Content-Type", contentType);
        return send(b.build());
    }

    HttpResponse<String> postMultipart(String path, List<Map.Entry<String, byte[]>> files) {
        return post(path, multipart(files), "multipart/form-data; boundary=" + BOUNDARY);
    }

    static byte[] multipart(List<Map.Entry<String, byte[]>> files) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (Map.Entry<String, byte[]> f : files) {
            o.writeBytes(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\""
                            + f.getKey() + "\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            o.writeBytes(f.getValue());
            o.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        o.writeBytes(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII));
        return o.toByteArray();
    }

    static JsonNode json(HttpResponse<String> r) {
        assertTrue(
                r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"),
                "content type of " + r + ": " + r.headers().map());
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + r.body(), e);
        }
    }

    /** A 4xx/5xx answer whose JSON body is exactly {"error": "..."} containing {@code fragment}, with no stack trace. */
    static String assertError(HttpResponse<String> r, int status, String fragment) {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode doc = json(r);
        assertEquals(1, doc.size(), r.body());
        String error = doc.get("error").asText();
        assertTrue(
                error.toLowerCase(Locale.ROOT).contains(fragment.toLowerCase(Locale.ROOT)),
                "'" + fragment + "' not in: " + error);
        assertFalse(r.body().contains("Exception") || r.body().contains("\tat "), r.body());
        return error;
    }

    /** The guesses of one prediction as label → probability, in order. */
    static Map<String, Double> guesses(JsonNode prediction) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (JsonNode g : prediction.get("top"))
            m.put(g.get("label").asText(), g.get("probability").asDouble());
        return m;
    }

    /** A request written by hand whose body is held back after {@code sent} bytes, until {@link #finish}. */
    static final class Held implements AutoCloseable {
        final Socket socket;
        final byte[] body;
        final int sent;

        Held(int port, String path, byte[] body, int sent) throws IOException {
            this.socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(150_000);
            this.body = body;
            this.sent = sent;
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: "
                            + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, sent);
            out.flush();
        }

        /** Sends the rest and reads the answer: status, headers (lower case), body. */
        Answer finish() throws IOException {
            OutputStream out = socket.getOutputStream();
            out.write(body, sent, body.length - sent);
            out.flush();
            InputStream in = socket.getInputStream();
            String status = line(in);
            Map<String, String> headers = new TreeMap<>();
            for (String h; !(h = line(in)).isEmpty(); ) {
                int colon = h.indexOf(':');
                headers.put(
                        h.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        h.substring(colon + 1).trim());
            }
            int n = Integer.parseInt(headers.getOrDefault("content-length", "0"));
            return new Answer(
                    Integer.parseInt(status.split(" ")[1]),
                    headers,
                    new String(in.readNBytes(n), StandardCharsets.UTF_8));
        }

        private static String line(InputStream in) throws IOException {
            StringBuilder b = new StringBuilder();
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) throw new IOException("connection closed after: " + b);
                if (c != '\r') b.append((char) c);
            }
            return b.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    record Answer(int status, Map<String, String> headers, String body) {}
}
