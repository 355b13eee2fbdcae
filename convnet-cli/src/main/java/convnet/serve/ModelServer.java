package convnet.serve;

import com.sun.net.httpserver.HttpServer;
import convnet.UserException;
import convnet.data.Images;
import convnet.eval.Classifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An HTTP server for trained models: {@code POST /v1/models/NAME:predict} (an image body, or
 * {@code multipart/form-data} with several; {@code ?top_k=}), {@code GET /v1/models[/NAME]}, {@code GET /health},
 * {@code GET /metrics}, and the Open Inference Protocol (KServe v2: {@code /v2/health/live|ready},
 * {@code /v2/models/NAME[/ready]}, {@code POST /v2/models/NAME/infer}; see {@link OpenInference}). Images are
 * decoded in the request threads ({@link PredictRequests}); each model's {@link Batcher} then lets concurrent
 * requests of either protocol share forward passes. Every answer is JSON (Prometheus text for /metrics); an error
 * is {@code {"error": "..."}} with a 4xx status for the client's mistakes and never a stack trace ({@link Router}).
 * This class holds the server's life: loading, listening, and stopping.
 *
 * <p>{@link #stop()} (what SIGTERM calls) stops accepting connections, lets the requests in flight finish
 * (waiting at most the request timeout), then closes the models it loaded.
 */
public final class ModelServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ModelServer.class);

    /** Images one request may carry (multipart parts). */
    public static final int MAX_IMAGES_PER_REQUEST = PredictRequests.MAX_IMAGES;

    /** How to serve; {@link #DEFAULT} holds the command line's defaults. */
    public record Options(
            String host,
            int port,
            int maxBatch,
            int batchWaitMs,
            long maxBodyBytes,
            long maxPixels,
            int maxConcurrent,
            int requestTimeoutMs,
            int defaultTopK) {
        public static final Options DEFAULT =
                new Options("127.0.0.1", 8080, 16, 5, 20L << 20, Images.MAX_PIXELS, 64, 30_000, 5);

        public Options {
            if (port < 0 || port > 65535) throw new UserException("--port must be 0 to 65535, got " + port);
            if (maxBatch < 1) throw new UserException("--max-batch must be at least 1, got " + maxBatch);
            if (batchWaitMs < 0) throw new UserException("--batch-wait-ms must be 0 or more, got " + batchWaitMs);
            if (maxBodyBytes < 1 || maxBodyBytes > Integer.MAX_VALUE - 8)
                throw new UserException(
                        "--max-body-bytes must be 1 to " + (Integer.MAX_VALUE - 8) + ", got " + maxBodyBytes);
            if (maxPixels < 1 || maxPixels > Images.MAX_PIXELS)
                throw new UserException("--max-pixels must be 1 to " + Images.MAX_PIXELS + ", got " + maxPixels);
            if (maxConcurrent < 1) throw new UserException("--max-concurrent must be at least 1, got " + maxConcurrent);
            if (requestTimeoutMs < 1)
                throw new UserException("--request-timeout-ms must be at least 1, got " + requestTimeoutMs);
            if (defaultTopK < 1) throw new UserException("the default top_k must be at least 1, got " + defaultTopK);
        }

        public Options withHost(String h) {
            return new Options(
                    h,
                    port,
                    maxBatch,
                    batchWaitMs,
                    maxBodyBytes,
                    maxPixels,
                    maxConcurrent,
                    requestTimeoutMs,
                    defaultTopK);
        }

        public Options withPort(int p) {
            return new Options(
                    host,
                    p,
                    maxBatch,
                    batchWaitMs,
                    maxBodyBytes,
                    maxPixels,
                    maxConcurrent,
                    requestTimeoutMs,
                    defaultTopK);
        }

        public Options withBatching(int max, int waitMs) {
            return new Options(
                    host, port, max, waitMs, maxBodyBytes, maxPixels, maxConcurrent, requestTimeoutMs, defaultTopK);
        }

        public Options withMaxBodyBytes(long b) {
            return new Options(
                    host, port, maxBatch, batchWaitMs, b, maxPixels, maxConcurrent, requestTimeoutMs, defaultTopK);
        }

        public Options withMaxPixels(long p) {
            return new Options(
                    host, port, maxBatch, batchWaitMs, maxBodyBytes, p, maxConcurrent, requestTimeoutMs, defaultTopK);
        }

        public Options withMaxConcurrent(int c) {
            return new Options(
                    host, port, maxBatch, batchWaitMs, maxBodyBytes, maxPixels, c, requestTimeoutMs, defaultTopK);
        }

        public Options withRequestTimeoutMs(int t) {
            return new Options(
                    host, port, maxBatch, batchWaitMs, maxBodyBytes, maxPixels, maxConcurrent, t, defaultTopK);
        }
    }

    private final Options options;
    private final HttpServer http;
    private final ThreadPoolExecutor executor;
    private final Map<String, ServedModel> models = new LinkedHashMap<>();
    private final boolean ownsModels;
    private final Exchanges exchanges;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean draining;
    private volatile boolean stopping;

    private ModelServer(Options options, HttpServer http, Map<String, Classifier> classifiers, boolean owns) {
        this.options = options;
        this.http = http;
        this.ownsModels = owns;
        ServerMetrics metrics = new ServerMetrics(options.maxBatch());
        long waitNanos = TimeUnit.MILLISECONDS.toNanos(options.batchWaitMs());
        classifiers.forEach((name, c) -> models.put(
                name, new ServedModel(name, c, new Batcher(name, c, options.maxBatch(), waitNanos, metrics))));
        Router router =
                new Router(models, metrics, new PredictRequests(options, () -> draining), options, () -> draining);
        exchanges = new Exchanges(router, metrics, options.maxBodyBytes(), () -> draining);
        // more threads than concurrent predictions, so that a request beyond the limit is refused at once
        int threads = options.maxConcurrent() + 16;
        AtomicInteger n = new AtomicInteger();
        executor = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "serve-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        executor.allowCoreThreadTimeOut(true);
        http.createContext("/", exchanges::handle);
        http.setExecutor(executor);
        http.start();
    }

    /**
     * Loads the named runs (or model bundles) and serves them; {@link #stop()} closes them. A port in use, a host
     * that cannot be resolved and a missing run are {@link UserException}s.
     */
    public static ModelServer open(Map<String, Path> runs, Options options, Classifier.Options load) {
        for (Path p : runs.values())
            if (!Files.exists(p)) throw new UserException("no run directory or model bundle at " + p);
        HttpServer http = Exchanges.bind(options);
        Map<String, Classifier> loaded = new LinkedHashMap<>();
        try {
            for (var e : runs.entrySet()) {
                Classifier c = Classifier.load(e.getValue(), load);
                loaded.put(e.getKey(), c);
                log.info(
                        "model {}: {} classes ({}), {} px, from {}",
                        e.getKey(),
                        c.classes().size(),
                        abbreviated(c.classes()),
                        c.inputSize(),
                        e.getValue());
            }
            return new ModelServer(options, http, loaded, true);
        } catch (RuntimeException e) {
            http.stop(0);
            loaded.values().forEach(Classifier::close);
            throw e;
        }
    }

    /** Serves classifiers that the caller keeps: {@link #stop()} leaves them open. */
    public static ModelServer start(Map<String, Classifier> models, Options options) {
        return new ModelServer(options, Exchanges.bind(options), models, false);
    }

    /**
     * Model names for command-line arguments: {@code NAME=PATH}, or a path whose model is named after its run
     * directory ({@code runs/flowers} and {@code runs/flowers/model} are both {@code flowers}).
     */
    public static Map<String, Path> namedRuns(List<String> args) {
        return ModelNames.of(args);
    }

    /** The port listened on (the one chosen when asked for port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    /** Requests being handled now. */
    int inFlight() {
        return exchanges.inFlight();
    }

    /** The served models' names, in the order given. */
    public List<String> modelNames() {
        return List.copyOf(models.keySet());
    }

    /**
     * Stops accepting connections, lets the requests in flight finish (waiting at most the request timeout and
     * a second), stops the batchers and closes the models this server loaded. Calls after the first wait for it.
     */
    public void stop() {
        synchronized (this) {
            if (stopping) {
                awaitQuietly();
                return;
            }
            stopping = true;
        }
        try {
            draining = true;
            int busy = exchanges.inFlight();
            int graceSeconds = (int) Math.ceil(options.requestTimeoutMs() / 1000.0) + 1;
            if (busy > 0) log.info("stopping: finishing {} request(s) in flight (at most {} s)", busy, graceSeconds);
            // HttpServer.stop closes the listening socket at once, then waits until no exchange is open (or the
            // delay passed); with none open it would wait the whole delay, hence 0
            http.stop(busy == 0 ? 0 : graceSeconds);
            executor.shutdown();
            if (!executor.awaitTermination(2, TimeUnit.SECONDS)) executor.shutdownNow();
            for (ServedModel m : models.values()) m.batcher().stop(2_000);
            if (ownsModels) for (ServedModel m : models.values()) m.classifier().close();
            log.info("stopped");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stopped.countDown();
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** Blocks until {@link #stop()} has finished. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    private void awaitQuietly() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String abbreviated(List<String> classes) {
        return classes.size() <= 5
                ? String.join(", ", classes)
                : String.join(", ", classes.subList(0, 5)) + ", ... " + (classes.size() - 5) + " more";
    }
}
