package convnet.serve;

import static convnet.serve.Http.assertError;
import static convnet.serve.Http.guesses;
import static convnet.serve.Http.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import convnet.Cli;
import convnet.TinyRun;
import convnet.eval.Classifier;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convnet serve}: answers equal to {@link Classifier#predict}, multipart, every client error as a 4xx with a
 * JSON reason, the limits (body, pixels, concurrency, time), /metrics, a graceful stop with a request in flight,
 * and the command line (help, user errors, SIGTERM).
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES) // a guard: the class takes well under a minute on an idle 2-core machine
class ServeTest {
    @TempDir
    static Path tmp;

    static TinyRun run;
    static Classifier classifier;
    static List<byte[]> photos = new ArrayList<>();
    static ModelServer server;
    static Http http;

    static final String PREDICT = "/v1/models/tiny:predict";

    @BeforeAll
    static void start() throws Exception {
        run = TinyRun.train(tmp, "tiny", 4);
        try (Stream<Path> s = Files.walk(run.data())) {
            for (Path p : s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList())
                photos.add(Files.readAllBytes(p));
        }
        classifier = Classifier.load(run.run(), Classifier.Options.DEFAULT.withThreads(2));
        server = ModelServer.start(Map.of("tiny", classifier), ModelServer.Options.DEFAULT.withPort(0));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.stop();
        if (classifier != null) classifier.close();
    }

    static void assertSameAs(byte[] image, JsonNode prediction, int k) {
        Map<String, Double> got = guesses(prediction);
        List<Classifier.Guess> want = classifier.predict(image, k);
        assertEquals(want.stream().map(Classifier.Guess::label).toList(), List.copyOf(got.keySet()));
        for (Classifier.Guess g : want) assertEquals(g.probability(), got.get(g.label()), 1e-5, g.label());
        for (JsonNode g : prediction.get("top"))
            assertEquals(
                    classifier.classes().indexOf(g.get("label").asText()),
                    g.get("index").asInt());
    }

    @Test
    void anImageBodyGetsTheClassifiersAnswer() {
        for (String type : new String[] {"image/jpeg", "application/octet-stream", null}) {
            HttpResponse<String> r = http.post(PREDICT, photos.get(0), type);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode p = json(r).get("predictions");
            assertEquals(1, p.size());
            assertEquals("body", p.get(0).get("file").asText());
            assertSameAs(photos.get(0), p.get(0), 5); // top_k 5 of two classes: both
            assertEquals(2, p.get(0).get("top").size());
        }
        HttpResponse<String> one = http.post(PREDICT + "?top_k=1", photos.get(1), "image/jpeg");
        assertSameAs(photos.get(1), json(one).get("predictions").get(0), 1);
    }

    @Test
    void theServerAndTheCommandLineWriteTheSameDocument() throws Exception {
        Path image = tmp.resolve("same.jpg");
        Files.write(image, photos.get(3));
        Cli.Out cli = Cli.run("predict", run.run().toString(), image.toString(), "--json", "--threads", "2");
        assertEquals(0, cli.code(), cli.stderr());
        // the part is named as the command line names the file, so that the documents can be equal to the byte
        HttpResponse<String> r = http.postMultipart(PREDICT, List.of(Map.entry(image.toString(), photos.get(3))));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(Http.JSON.readTree(cli.stdout()), json(r));
        assertEquals(
                cli.stdout().trim(), Http.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json(r)));
    }

    @Test
    void multipartCarriesSeveralImagesWithTheirNames() {
        HttpResponse<String> r = http.postMultipart(
                PREDICT + "?top_k=2",
                List.of(
                        Map.entry("a.jpg", photos.get(0)),
                        Map.entry("b b.jpg", photos.get(5)),
                        Map.entry("c.jpg", photos.get(2))));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode p = json(r).get("predictions");
        assertEquals(
                List.of("a.jpg", "b b.jpg", "c.jpg"),
                List.of(
                        p.get(0).get("file").asText(),
                        p.get(1).get("file").asText(),
                        p.get(2).get("file").asText()));
        assertSameAs(photos.get(0), p.get(0), 2);
        assertSameAs(photos.get(5), p.get(1), 2);
        assertSameAs(photos.get(2), p.get(2), 2);
    }

    @Test
    void modelsAndHealth() {
        JsonNode models = json(http.get("/v1/models")).get("models");
        assertEquals(1, models.size());
        assertEquals("tiny", models.get(0).get("name").asText());
        assertEquals("[\"daisy\",\"rose\"]", models.get(0).get("classes").toString());
        assertEquals(32, models.get(0).get("input_size").asInt());
        assertEquals(models.get(0), json(http.get("/v1/models/tiny")));
        HttpResponse<String> health = http.get("/health");
        assertEquals(200, health.statusCode());
        assertEquals("ok", json(health).get("status").asText());
    }

    static byte[] pngClaiming(long w, long h) {
        byte[] b = new byte[64];
        byte[] head = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
        System.arraycopy(head, 0, b, 0, head.length);
        for (int i = 0; i < 4; i++) {
            b[16 + i] = (byte) (w >>> (24 - 8 * i));
            b[20 + i] = (byte) (h >>> (24 - 8 * i));
        }
        return b;
    }

    static byte[] png(int w, int h) throws Exception {
        BufferedImage bi = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ImageIO.write(bi, "png", o);
        return o.toByteArray();
    }

    @Test
    void everyClientErrorIsA4xxWithAJsonReason() {
        byte[] photo = photos.get(0);
        byte[] garbage = "this is not an image, only text".repeat(20).getBytes(StandardCharsets.US_ASCII);
        byte[] truncated = Arrays.copyOf(photo, photo.length / 2);
        assertError(http.post(PREDICT, garbage, "image/jpeg"), 400, "not a readable image");
        assertError(http.post(PREDICT, truncated, "image/jpeg"), 400, "truncated JPEG");
        assertError(http.post(PREDICT, new byte[0], "image/jpeg"), 400, "empty body");
        assertError(http.post(PREDICT, pngClaiming(20_000, 20_000), "image/png"), 413, "header claims 20000×20000");
        assertError(http.post(PREDICT, pngClaiming(0xFFFFFFFFL, 0xFFFFFFFFL), "image/png"), 413, "pixels");
        assertError(
                http.post("/v1/models/nope:predict", photo, "image/jpeg"),
                404,
                "no model named 'nope' (serving: tiny)");
        assertError(http.get("/v1/models/nope"), 404, "no model named 'nope'");
        HttpResponse<String> get = http.get(PREDICT);
        assertError(get, 405, "GET is not allowed");
        assertEquals("POST", get.headers().firstValue("Allow").orElse(""));
        HttpResponse<String> delete =
                http.send(http.request("/v1/models").DELETE().build());
        assertError(delete, 405, "DELETE");
        assertEquals("GET", delete.headers().firstValue("Allow").orElse(""));
        assertEquals(
                "GET",
                http.post("/health", photo, null).headers().firstValue("Allow").orElse(""));
        assertError(http.get("/v2/whatever"), 404, "no such endpoint: /v2/whatever");
        assertError(http.get("/"), 404, "no such endpoint");
        assertError(
                http.post(PREDICT + "?top_k=abc", photo, null),
                400,
                "top_k must be a whole number of at least 1, got 'abc'");
        assertError(http.post(PREDICT + "?top_k=0", photo, null), 400, "got '0'");
        assertError(http.post(PREDICT + "?top_k=-3", photo, null), 400, "got '-3'");
        assertError(http.post(PREDICT + "?topk=3", photo, null), 400, "unknown query parameter 'topk'");
        assertError(
                http.post(PREDICT, Http.multipart(List.of(Map.entry("a.jpg", photo))), "multipart/form-data"),
                400,
                "boundary");
        assertError(
                http.postMultipart(PREDICT, List.of(Map.entry("good.jpg", photo), Map.entry("bad.jpg", garbage))),
                400,
                "'bad.jpg': not a readable image");
        List<Map.Entry<String, byte[]>> many = new ArrayList<>();
        for (int i = 0; i <= ModelServer.MAX_IMAGES_PER_REQUEST; i++) many.add(Map.entry(i + ".jpg", new byte[] {1}));
        assertError(http.postMultipart(PREDICT, many), 413, "more than 64 images");
        byte[] cut = Http.multipart(List.of(Map.entry("a.jpg", photo)));
        cut = Arrays.copyOf(cut, cut.length - 10);
        assertError(http.post(PREDICT, cut, "multipart/form-data; boundary=" + Http.BOUNDARY), 400, "cut short");
        // and the server is still well
        assertEquals(200, http.post(PREDICT, photo, null).statusCode());
        String metrics = http.get("/metrics").body();
        List<ServerMetricsTest.Sample> s = ServerMetricsTest.parse(metrics);
        assertTrue(ServerMetricsTest.value(s, "convnet_http_errors_total", "reason", "bad_image") >= 3, metrics);
        assertTrue(
                ServerMetricsTest.value(s, "convnet_http_requests_total", "endpoint", "predict", "code", "405") >= 1,
                metrics);
        assertEquals(0, ServerMetricsTest.value(s, "convnet_http_errors_total", "reason", "internal"), metrics);
    }

    @Test
    void bodyAndPixelLimits() throws Exception {
        byte[] small = png(8, 8), wide = png(40, 40);
        assertTrue(small.length < 1000 && wide.length < 1000);
        try (ModelServer s = ModelServer.start(
                Map.of("tiny", classifier),
                ModelServer.Options.DEFAULT.withPort(0).withMaxBodyBytes(1000).withMaxPixels(32 * 32))) {
            Http h = new Http(s.port());
            assertError(
                    h.post(PREDICT, photos.get(0), "image/jpeg"),
                    413,
                    "more than the limit of 1000 (--max-body-bytes)");
            // no Content-Length (chunked): counted while reading
            HttpResponse<String> chunked = h.send(h.request(PREDICT)
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(photos.get(0))))
                    .build());
            assertError(chunked, 413, "--max-body-bytes");
            assertError(
                    h.post(PREDICT, wide, "image/png"), 413, "header claims 40×40 pixels, more than the limit of 1024");
            assertEquals(200, h.post(PREDICT, small, "image/png").statusCode());
        }
    }

    /** Waits until the server has {@code n} requests in flight. */
    static void awaitInFlight(ModelServer s, int n) throws InterruptedException {
        for (int i = 0; i < 3000 && s.inFlight() < n; i++) Thread.sleep(10);
        assertEquals(n, s.inFlight(), "requests in flight");
    }

    @Test
    void beyondMaxConcurrentA503WithRetryAfter() throws Exception {
        try (ModelServer s = ModelServer.start(
                        Map.of("tiny", classifier),
                        ModelServer.Options.DEFAULT.withPort(0).withMaxConcurrent(1));
                Http.Held held = new Http.Held(s.port(), PREDICT, photos.get(0), 100)) {
            awaitInFlight(s, 1);
            Http h = new Http(s.port());
            HttpResponse<String> refused = h.post(PREDICT, photos.get(1), "image/jpeg");
            assertError(refused, 503, "more than 1 requests at once (--max-concurrent)");
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(""));
            assertEquals(200, h.get("/health").statusCode(), "health is not limited");
            Http.Answer a = held.finish();
            assertEquals(200, a.status(), a.body());
            assertEquals(200, h.post(PREDICT, photos.get(1), "image/jpeg").statusCode());
        }
    }

    @Test
    void aRequestThatWaitsTooLongIsRefused() {
        // a batch waits 60 s to fill, the request only 300 ms
        try (ModelServer s = ModelServer.start(
                Map.of("tiny", classifier),
                ModelServer.Options.DEFAULT.withPort(0).withBatching(16, 60_000).withRequestTimeoutMs(300))) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = new Http(s.port()).post(PREDICT, photos.get(0), "image/jpeg");
            assertError(r, 503, "within 300 ms (--request-timeout-ms)");
            assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
            assertTrue(System.nanoTime() - t0 < 30e9, "answered at the timeout, not when the batch would run");
        }
    }

    @Test
    void metricsInTheTextFormat() {
        http.post(PREDICT, photos.get(0), null);
        HttpResponse<String> r = http.get("/metrics");
        assertEquals(200, r.statusCode());
        assertEquals(
                ServerMetrics.CONTENT_TYPE,
                r.headers().firstValue("Content-Type").orElse(""));
        List<ServerMetricsTest.Sample> s = ServerMetricsTest.parse(r.body());
        assertTrue(
                ServerMetricsTest.value(s, "convnet_http_requests_total", "endpoint", "predict", "code", "200") >= 1);
        assertTrue(
                ServerMetricsTest.value(s, "convnet_http_request_duration_seconds_count", "endpoint", "predict") >= 1);
        assertTrue(ServerMetricsTest.value(s, "convnet_batch_size_count", "model", "tiny") >= 1);
        assertTrue(ServerMetricsTest.value(s, "convnet_images_predicted_total", "model", "tiny") >= 1);
        assertEquals(1, ServerMetricsTest.value(s, "convnet_http_requests_in_flight"), "the /metrics request itself");
    }

    @Test
    void stopLetsTheRequestInFlightFinish() throws Exception {
        ModelServer s = ModelServer.start(Map.of("tiny", classifier), ModelServer.Options.DEFAULT.withPort(0));
        int port = s.port();
        try (Http.Held held = new Http.Held(port, PREDICT, photos.get(3), 50)) {
            awaitInFlight(s, 1);
            CompletableFuture<Void> stopping = CompletableFuture.runAsync(s::stop);
            // no new connections once stopping began
            boolean refused = false;
            for (int i = 0; i < 3000 && !refused; i++) {
                try (Socket probe = new Socket(InetAddress.getLoopbackAddress(), port)) {
                    Thread.sleep(10);
                } catch (ConnectException e) {
                    refused = true;
                }
            }
            assertTrue(refused, "still accepting connections while stopping");
            assertFalse(stopping.isDone(), "stop waits for the request in flight");
            Http.Answer a = held.finish();
            assertEquals(200, a.status(), a.body());
            assertEquals("close", a.headers().get("connection"));
            JsonNode doc = Http.JSON.readTree(a.body());
            assertSameAs(photos.get(3), doc.get("predictions").get(0), 5);
            stopping.get(10, TimeUnit.SECONDS);
        }
        assertEquals(
                2,
                classifier.predict(photos.get(0), 2).size(),
                "a server started on a caller's classifier leaves it open");
    }

    @Test
    void theCommandLine() throws Exception {
        Cli.Out help = Cli.run("serve", "--help");
        assertEquals(0, help.code());
        for (String o : List.of(
                "--port",
                "--host",
                "--max-batch",
                "--batch-wait-ms",
                "--max-body-bytes",
                "--max-pixels",
                "--max-concurrent",
                "--request-timeout-ms",
                "--threads",
                "--verbose")) assertTrue(help.stdout().contains(o), o + " not in:\n" + help.stdout());
        Cli.Out missing = Cli.run("serve", tmp.resolve("no-such-run").toString(), "--port", "0");
        assertEquals(2, missing.code(), missing.stderr());
        assertEquals(1, missing.stderr().strip().lines().count(), missing.stderr());
        assertTrue(missing.stderr().contains("no run directory or model bundle at"), missing.stderr());
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            Cli.Out inUse = Cli.run("serve", run.run().toString(), "--port", Integer.toString(taken.getLocalPort()));
            assertEquals(2, inUse.code(), inUse.stderr());
            assertTrue(inUse.stderr().contains("port is in use"), inUse.stderr());
            assertEquals(1, inUse.stderr().strip().lines().count(), inUse.stderr());
        }
        Cli.Out zero = Cli.run("serve", run.run().toString(), "--port", "0", "--max-batch", "0");
        assertEquals(2, zero.code());
        assertTrue(zero.stderr().contains("--max-batch must be at least 1"), zero.stderr());
        Cli.Out twice = Cli.run("serve", run.run().toString(), "a=" + run.run(), "a=" + run.run(), "--port", "0");
        assertEquals(2, twice.code());
        assertTrue(twice.stderr().contains("two models are named 'a'"), twice.stderr());
        assertEquals(
                Map.of("run", run.run().resolve("model"), "other", run.run()),
                ModelServer.namedRuns(List.of(run.run().resolve("model").toString(), "other=" + run.run())));
        Cli.Out lots = Cli.run("serve", run.run().toString(), "--port", "0", "--max-body-bytes", "lots");
        assertEquals(2, lots.code());
        assertTrue(lots.stderr().contains("--max-body-bytes: expected a number of bytes such as"), lots.stderr());
    }

    @Test
    void sigtermStopsTheServeProcess() throws Exception {
        Process p = Cli.process("serve", "flowers=" + run.run(), "--port", "0", "--threads", "1")
                .redirectErrorStream(true)
                .start();
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                    Matcher m = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)")
                            .matcher(line);
                    if (m.find()) port.complete(Integer.parseInt(m.group(1)));
                }
            } catch (IOException ignored) {
            }
            port.complete(-1);
        });
        reader.start();
        try {
            int at = port.get(60, TimeUnit.SECONDS);
            assertTrue(at > 0, String.join("\n", lines));
            Http h = new Http(at);
            HttpResponse<String> r = h.post("/v1/models/flowers:predict", photos.get(0), "image/jpeg");
            assertEquals(200, r.statusCode(), r.body());
            assertSameAs(photos.get(0), json(r).get("predictions").get(0), 5);
            p.toHandle().destroy(); // SIGTERM (Process.destroy would also close our end of its output)
            assertTrue(p.waitFor(90, TimeUnit.SECONDS), "exits after SIGTERM:\n" + String.join("\n", lines));
            reader.join(60_000); // the output ends with the process
            assertEquals(143, p.exitValue(), String.join("\n", lines));
            assertTrue(lines.stream().anyMatch(l -> l.endsWith("stopped")), String.join("\n", lines));
        } finally {
            p.destroyForcibly();
        }
    }
}
