package convnet.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import convnet.TinyRun;
import convnet.eval.Classifier;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * 16 concurrent clients send 2,000 requests, a fifth of them bad (garbage, a truncated JPEG, an unknown model, GET on
 * predict): every good one gets {@link Classifier#predict}'s answer for the same bytes, every bad one its 4xx, none
 * a 5xx; batches form; and the resident memory after warm-up stays flat.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES) // a guard: the class takes well under a minute on an idle 2-core machine
class ServeLoadTest {
    @TempDir
    static Path tmp;

    static final int CLIENTS = 16, REQUESTS = 2_000, WARM_UP = 400;

    static long rssKb() throws Exception {
        System.gc();
        Thread.sleep(200);
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    @Test
    void sixteenClientsGetTheClassifiersAnswersAndMemoryStaysFlat() throws Exception {
        TinyRun run = TinyRun.train(tmp, "load", 6);
        List<byte[]> photos = new ArrayList<>();
        try (Stream<Path> s = Files.walk(run.data())) {
            for (Path p : s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList())
                photos.add(Files.readAllBytes(p));
        }
        byte[] garbage = new byte[3000];
        new Random(1).nextBytes(garbage);
        byte[] truncated = Arrays.copyOf(photos.get(0), photos.get(0).length * 2 / 3);
        try (Classifier c = Classifier.load(run.run(), Classifier.Options.DEFAULT.withThreads(2))) {
            List<List<Classifier.Guess>> want = new ArrayList<>();
            for (byte[] p : photos) want.add(c.predict(p, 2)); // one at a time
            try (ModelServer server = ModelServer.start(
                    Map.of("tiny", c),
                    ModelServer.Options.DEFAULT.withPort(0).withBatching(16, 5).withRequestTimeoutMs(120_000))) {
                Http http = new Http(server.port());
                LongAdder good = new LongAdder(), bad = new LongAdder(), images = new LongAdder();
                AtomicInteger next = new AtomicInteger();
                IntConsumer request = i -> {
                    int j = i % photos.size(), k = 1 + i % 2;
                    String predict = "/v1/models/tiny:predict?top_k=" + k;
                    switch (i % 10) {
                        case 0 -> expectError(http.post(predict, garbage, "image/jpeg"), 400, bad);
                        case 5 -> expectError(http.post("/v1/models/nope:predict", photos.get(j), null), 404, bad);
                        case 10 -> expectError(http.post(predict, truncated, "image/jpeg"), 400, bad);
                        case 15 -> expectError(http.get(predict), 405, bad);
                        case 9, 19 -> {
                            int j2 = (j + 1) % photos.size();
                            HttpResponse<String> r = http.postMultipart(
                                    predict,
                                    List.of(Map.entry("x.jpg", photos.get(j)), Map.entry("y.jpg", photos.get(j2))));
                            JsonNode p = ok(r);
                            same(want.get(j), k, p.get(0), "request " + i + " part 1");
                            same(want.get(j2), k, p.get(1), "request " + i + " part 2");
                            good.increment();
                            images.add(2);
                        }
                        default -> {
                            same(
                                    want.get(j),
                                    k,
                                    ok(http.post(predict, photos.get(j), "image/jpeg"))
                                            .get(0),
                                    "request " + i);
                            good.increment();
                            images.add(1);
                        }
                    }
                };
                ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
                try {
                    long t0 = System.nanoTime();
                    runUntil(pool, request, next, WARM_UP);
                    long warm = rssKb();
                    long t1 = System.nanoTime();
                    runUntil(pool, request, next, REQUESTS);
                    long t2 = System.nanoTime();
                    long end = rssKb();
                    List<ServerMetricsTest.Sample> m =
                            ServerMetricsTest.parse(http.get("/metrics").body());
                    double batches = ServerMetricsTest.value(m, "convnet_batch_size_count", "model", "tiny");
                    double batched = ServerMetricsTest.value(m, "convnet_batch_size_sum", "model", "tiny");
                    System.out.printf(
                            Locale.ROOT,
                            "load: %d requests (%d good, %d bad) from %d clients in %.1f s (%.0f requests/s after"
                                    + " warm-up); %d images in %.0f forward passes (%.1f per pass); RSS %d MB after"
                                    + " warm-up, %d MB at the end (%+.1f %%)%n",
                            REQUESTS,
                            good.sum(),
                            bad.sum(),
                            CLIENTS,
                            (t2 - t0) / 1e9,
                            (REQUESTS - WARM_UP) / ((t2 - t1) / 1e9),
                            images.sum(),
                            batches,
                            batched / batches,
                            warm / 1024,
                            end / 1024,
                            100.0 * (end - warm) / warm);
                    assertEquals(REQUESTS, good.sum() + bad.sum());
                    assertEquals(images.sum(), batched, 0, "every good image went through one forward pass");
                    assertEquals(
                            good.sum(),
                            ServerMetricsTest.value(
                                    m, "convnet_http_requests_total", "endpoint", "predict", "code", "200"));
                    assertEquals(0, ServerMetricsTest.value(m, "convnet_http_errors_total", "reason", "internal"));
                    assertTrue(
                            batched / batches > 1.5,
                            "16 clients at once should share forward passes: " + batched / batches);
                    assertTrue(
                            end <= warm * 1.25,
                            "resident memory grew from " + warm / 1024 + " MB to " + end / 1024 + " MB");
                } finally {
                    pool.shutdownNow();
                }
            }
        }
    }

    /** {@code CLIENTS} threads send the requests numbered from {@code next} up to {@code upTo}, each one once. */
    static void runUntil(ExecutorService pool, IntConsumer request, AtomicInteger next, int upTo) throws Exception {
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < CLIENTS; t++)
            fs.add(pool.submit(() -> {
                for (int i = next.get(); i < upTo; i = next.get()) if (next.compareAndSet(i, i + 1)) request.accept(i);
            }));
        for (Future<?> f : fs) f.get();
    }

    static JsonNode ok(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        return Http.json(r).get("predictions");
    }

    static void expectError(HttpResponse<String> r, int status, LongAdder bad) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(Http.json(r).get("error").asText().length() > 10, r.body());
        bad.increment();
    }

    static void same(List<Classifier.Guess> all, int k, JsonNode prediction, String what) {
        Map<String, Double> got = Http.guesses(prediction);
        List<Classifier.Guess> want = all.subList(0, k);
        assertEquals(want.stream().map(Classifier.Guess::label).toList(), List.copyOf(got.keySet()), what);
        for (Classifier.Guess g : want) assertEquals(g.probability(), got.get(g.label()), 1e-5, what);
    }
}
