// A load generator for `convnet serve`, on the JDK alone (run it as a single-file program):
//   java scripts/ServeBench.java URL CLIENTS REQUESTS WARMUP IMAGE...
// e.g. java scripts/ServeBench.java http://127.0.0.1:8080/v1/models/tiny:predict 16 2000 200 samples/flowers/*/*.jpg
// CLIENTS threads send REQUESTS POST requests in all (after WARMUP unmeasured ones), each body one of the images in
// turn, and it prints one JSON line: requests/s and images/s, latency percentiles (ms), and the non-200 answers.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

public class ServeBench {
    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: java scripts/ServeBench.java URL CLIENTS REQUESTS WARMUP IMAGE...");
            System.exit(2);
        }
        URI url = URI.create(args[0]);
        int clients = Integer.parseInt(args[1]), requests = Integer.parseInt(args[2]), warmup = Integer.parseInt(args[3]);
        List<byte[]> images = new ArrayList<>();
        for (int i = 4; i < args.length; i++) images.add(Files.readAllBytes(Path.of(args[i])));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        run(client, url, clients, warmup, images, new long[warmup], new AtomicInteger());
        long[] nanos = new long[requests];
        AtomicInteger failed = new AtomicInteger();
        long t0 = System.nanoTime();
        run(client, url, clients, requests, images, nanos, failed);
        double seconds = (System.nanoTime() - t0) / 1e9;
        Arrays.sort(nanos);
        System.out.printf(
                Locale.ROOT,
                "{\"clients\": %d, \"requests\": %d, \"seconds\": %.2f, \"requests_per_s\": %.1f, \"p50_ms\": %.2f,"
                        + " \"p90_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.2f, \"not_200\": %d}%n",
                clients, requests, seconds, requests / seconds, pct(nanos, 50), pct(nanos, 90), pct(nanos, 99),
                nanos[nanos.length - 1] / 1e6, failed.get());
    }

    static double pct(long[] sorted, double p) {
        return sorted[(int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)] / 1e6;
    }

    static void run(HttpClient client, URI url, int clients, int n, List<byte[]> images, long[] nanos,
            AtomicInteger failed) throws Exception {
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<?>> fs = new ArrayList<>();
        for (int c = 0; c < clients; c++)
            fs.add(pool.submit(() -> {
                for (int i; (i = next.getAndIncrement()) < n; ) {
                    HttpRequest r = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(60))
                            .header("Content-Type", "image/jpeg")
                            .POST(HttpRequest.BodyPublishers.ofByteArray(images.get(i % images.size()))).build();
                    long t = System.nanoTime();
                    HttpResponse<String> a = client.send(r, HttpResponse.BodyHandlers.ofString());
                    nanos[i] = System.nanoTime() - t;
                    if (a.statusCode() != 200) failed.incrementAndGet();
                }
                return null;
            }));
        for (Future<?> f : fs) f.get();
        pool.shutdown();
    }
}
