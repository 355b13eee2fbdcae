package convnet.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import convnet.UserException;
import convnet.data.BadImageException;
import convnet.data.Images;
import convnet.eval.Classifier;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An HTTP server for trained models: {@code POST /v1/models/NAME:predict} (an image body, or
 * {@code multipart/form-data} with several; {@code ?top_k=}), {@code GET /v1/models[/NAME]}, {@code GET /health},
 * {@code GET /metrics}, and the Open Inference Protocol (KServe v2: {@code /v2/health/live|ready},
 * {@code /v2/models/NAME[/ready]}, {@code POST /v2/models/NAME/infer}; see {@link OpenInference}). Images are
 * decoded in the request threads; each model's {@link Batcher} then lets concurrent requests of either protocol
 * share forward passes. Every answer is JSON (Prometheus text for /metrics); an error is {@code {"error": "..."}}
 * with a 4xx status for the client's mistakes and never a stack trace.
 *
 * <p>{@link #stop()} (what SIGTERM calls) stops accepting connections, lets the requests in flight finish
 * (waiting at most the request timeout), then closes the models it loaded.
 */
public final class ModelServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ModelServer.class);

    /** Images one request may carry (multipart parts). */
    public static final int MAX_IMAGES_PER_REQUEST = 64;

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

    private record Served(String name, Classifier classifier, Batcher batcher) {}

    /** A response ready to send. */
    private record Answer(int status, String contentType, byte[] body) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JSON_TYPE = "application/json; charset=utf-8";

    private final Options options;
    private final HttpServer http;
    private final ThreadPoolExecutor executor;
    private final Map<String, Served> models = new LinkedHashMap<>();
    private final boolean ownsModels;
    private final Metrics metrics;
    private final Semaphore permits;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean draining;
    private volatile boolean stopping;

    private ModelServer(Options options, HttpServer http, Map<String, Classifier> classifiers, boolean owns) {
        this.options = options;
        this.http = http;
        this.ownsModels = owns;
        this.metrics = new Metrics(options.maxBatch());
        this.permits = new Semaphore(options.maxConcurrent());
        metrics.inFlight(inFlight::get);
        long waitNanos = TimeUnit.MILLISECONDS.toNanos(options.batchWaitMs());
        classifiers.forEach((name, c) ->
                models.put(name, new Served(name, c, new Batcher(name, c, options.maxBatch(), waitNanos, metrics))));
        // more threads than concurrent predictions, so that a request beyond the limit is refused at once
        int threads = options.maxConcurrent() + 16;
        AtomicInteger n = new AtomicInteger();
        executor = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "serve-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        executor.allowCoreThreadTimeOut(true);
        http.createContext("/", this::handle);
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
        HttpServer http = bind(options);
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
        return new ModelServer(options, bind(options), models, false);
    }

    private static HttpServer bind(Options o) {
        InetSocketAddress address = new InetSocketAddress(o.host(), o.port());
        if (address.isUnresolved()) throw new UserException("cannot resolve --host " + o.host());
        try {
            return HttpServer.create(address, Math.max(50, o.maxConcurrent()));
        } catch (BindException e) {
            String why = e.getMessage() != null && e.getMessage().contains("in use")
                    ? "the port is in use (choose another with --port, or 0 for any free port)"
                    : e.getMessage();
            throw new UserException("cannot listen on " + o.host() + ":" + o.port() + ": " + why);
        } catch (IOException e) {
            throw new UserException("cannot listen on " + o.host() + ":" + o.port() + ": " + e.getMessage());
        }
    }

    /**
     * Model names for command-line arguments: {@code NAME=PATH}, or a path whose model is named after its run
     * directory ({@code runs/flowers} and {@code runs/flowers/model} are both {@code flowers}).
     */
    public static Map<String, Path> namedRuns(List<String> args) {
        Map<String, Path> out = new LinkedHashMap<>();
        for (String arg : args) {
            String name;
            Path path;
            int eq = arg.indexOf('=');
            if (eq > 0 && !Files.exists(Path.of(arg))) {
                name = arg.substring(0, eq);
                path = Path.of(arg.substring(eq + 1));
            } else {
                path = Path.of(arg);
                name = modelName(path);
            }
            if (name.isEmpty() || name.contains("/") || name.chars().anyMatch(Character::isISOControl))
                throw new UserException("'" + name + "' (from " + arg + ") cannot be a model name: it is empty or"
                        + " holds a '/' or a control character; name it with NAME=PATH");
            if (out.put(name, path) != null)
                throw new UserException(
                        "two models are named '" + name + "'; give them different names with NAME=PATH");
        }
        return out;
    }

    static String modelName(Path path) {
        Path p = path.toAbsolutePath().normalize();
        if (p.getFileName() != null
                && p.getFileName().toString().equals("model")
                && p.getParent() != null
                && p.getParent().getFileName() != null
                && convnet.eval.ModelBundle.exists(p)) p = p.getParent();
        return p.getFileName() == null ? "" : p.getFileName().toString();
    }

    /** The port listened on (the one chosen when asked for port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    /** Requests being handled now. */
    int inFlight() {
        return inFlight.get();
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
            int busy = inFlight.get();
            int graceSeconds = (int) Math.ceil(options.requestTimeoutMs() / 1000.0) + 1;
            if (busy > 0) log.info("stopping: finishing {} request(s) in flight (at most {} s)", busy, graceSeconds);
            // HttpServer.stop closes the listening socket at once, then waits until no exchange is open (or the
            // delay passed); with none open it would wait the whole delay, hence 0
            http.stop(busy == 0 ? 0 : graceSeconds);
            executor.shutdown();
            if (!executor.awaitTermination(2, TimeUnit.SECONDS)) executor.shutdownNow();
            for (Served m : models.values()) m.batcher().stop(2_000);
            if (ownsModels) for (Served m : models.values()) m.classifier().close();
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

    // ---- requests

    private void handle(HttpExchange ex) {
        long t0 = System.nanoTime();
        inFlight.incrementAndGet();
        String[] endpoint = {"other"};
        int status = 500;
        try {
            Answer a;
            try {
                a = route(ex, endpoint, t0);
            } catch (HttpError e) {
                metrics.error(e.reason);
                e.headers.forEach(ex.getResponseHeaders()::set);
                a = json(e.status, Map.of("error", e.getMessage()));
            } catch (Throwable t) {
                metrics.error("internal");
                log.error("unexpected error answering {} {}", ex.getRequestMethod(), ex.getRequestURI(), t);
                a = json(
                        500,
                        Map.of(
                                "error",
                                "internal error (" + t.getClass().getSimpleName()
                                        + "); the server's log has the details"));
            }
            status = a.status();
            if (status != 413) drain(ex);
            send(ex, a);
            if (log.isDebugEnabled())
                log.debug(
                        "{} {} {} {}",
                        ex.getRequestMethod(),
                        ex.getRequestURI(),
                        status,
                        String.format(Locale.ROOT, "%.1f ms", (System.nanoTime() - t0) / 1e6));
        } catch (IOException e) {
            log.debug("could not answer {} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
        } catch (Throwable t) {
            log.error("unexpected error answering {} {}", ex.getRequestMethod(), ex.getRequestURI(), t);
        } finally {
            metrics.request(endpoint[0], status, (System.nanoTime() - t0) / 1e9);
            ex.close();
            inFlight.decrementAndGet();
        }
    }

    /**
     * Reads what is left of the request body (at most the body limit) before answering: a client still sending a
     * large body that is answered early (an unknown model, a wrong method) would otherwise see its connection reset
     * and lose the answer.
     */
    private void drain(HttpExchange ex) {
        byte[] buffer = new byte[65536];
        long left = options.maxBodyBytes();
        try {
            InputStream in = ex.getRequestBody();
            for (int n; left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) >= 0; ) left -= n;
        } catch (IOException e) {
            log.debug("could not read the rest of {} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
        }
    }

    private Answer route(HttpExchange ex, String[] endpoint, long t0) throws IOException {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        switch (path) {
            case "/health" -> {
                endpoint[0] = "health";
                allow(method, "GET");
                if (draining) return json(503, Map.of("status", "shutting down"));
                Map<String, Object> ok = new LinkedHashMap<>();
                ok.put("status", "ok");
                ok.put("models", modelNames());
                return json(200, ok);
            }
            case "/metrics" -> {
                endpoint[0] = "metrics";
                allow(method, "GET");
                Metrics.Scrape scrape = metrics.scrape(ex.getRequestHeaders().getFirst("Accept"));
                return new Answer(200, scrape.contentType(), scrape.body());
            }
            case "/v1/models", "/v1/models/" -> {
                endpoint[0] = "models";
                allow(method, "GET");
                List<Object> list = new ArrayList<>();
                for (Served m : models.values()) list.add(describe(m));
                return json(200, Map.of("models", list));
            }
            default -> {}
        }
        if (path.equals("/v2") || path.startsWith("/v2/")) {
            Answer a = v2(ex, path, method, endpoint, t0);
            if (a != null) return a;
        } else if (path.startsWith("/v1/models/")) {
            String rest = path.substring("/v1/models/".length());
            if (rest.endsWith(":predict")) {
                endpoint[0] = "predict";
                Served m = model(rest.substring(0, rest.length() - ":predict".length()));
                allow(method, "POST");
                return predict(ex, m, t0);
            }
            endpoint[0] = "models";
            Served m = model(rest);
            allow(method, "GET");
            return json(200, describe(m));
        }
        throw HttpError.notFound("no such endpoint: " + path + " (there are POST /v1/models/NAME:predict,"
                + " GET /v1/models, GET /v1/models/NAME, GET /health, GET /metrics, and the Open Inference Protocol's"
                + " GET /v2, /v2/health/live, /v2/health/ready, /v2/models/NAME, /v2/models/NAME/ready and POST"
                + " /v2/models/NAME/infer)");
    }

    /**
     * The Open Inference Protocol (KServe v2): server metadata, health, model metadata and readiness, inference.
     * Null for a path it does not know.
     */
    private Answer v2(HttpExchange ex, String path, String method, String[] endpoint, long t0) throws IOException {
        switch (path) {
            case "/v2", "/v2/" -> {
                endpoint[0] = "v2_metadata";
                allow(method, "GET");
                return json(200, OpenInference.serverMetadata());
            }
            case "/v2/health/live" -> {
                endpoint[0] = "v2_health";
                allow(method, "GET");
                return json(200, Map.of("live", true));
            }
            case "/v2/health/ready" -> {
                endpoint[0] = "v2_health";
                allow(method, "GET");
                // the protocol's "not ready" is a 4xx
                return json(draining ? 400 : 200, Map.of("ready", !draining));
            }
            default -> {}
        }
        if (!path.startsWith("/v2/models/")) return null;
        // NAME[/versions/V][/ready|/infer]; a model's name holds no '/'
        List<String> parts = List.of(path.substring("/v2/models/".length()).split("/", -1));
        String action = "";
        if (parts.size() == 2 || parts.size() == 4) action = parts.get(parts.size() - 1);
        int head = parts.size() - (action.isEmpty() ? 0 : 1);
        boolean versioned = head == 3 && parts.get(1).equals("versions");
        if (parts.get(0).isEmpty()
                || (head != 1 && !versioned)
                || !List.of("", "ready", "infer").contains(action)) return null;
        endpoint[0] = action.equals("infer") ? "v2_infer" : action.equals("ready") ? "v2_health" : "v2_metadata";
        Served m = model(parts.get(0));
        if (versioned && !parts.get(2).equals(OpenInference.VERSION))
            throw new HttpError(
                    404,
                    "unknown_model",
                    "model '" + m.name() + "' has no version '" + parts.get(2) + "' (its one version is "
                            + OpenInference.VERSION + ")");
        switch (action) {
            case "ready" -> {
                allow(method, "GET");
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("name", m.name());
                d.put("ready", !draining);
                return json(draining ? 400 : 200, d);
            }
            case "infer" -> {
                allow(method, "POST");
                return infer(ex, m, t0);
            }
            default -> {
                allow(method, "GET");
                return json(200, OpenInference.modelMetadata(m.name(), m.classifier(), options.defaultTopK()));
            }
        }
    }

    private static void allow(String method, String allowed) {
        if (!method.equals(allowed)) throw HttpError.methodNotAllowed(method, allowed);
    }

    private Served model(String name) {
        Served m = models.get(name);
        if (m == null)
            throw new HttpError(
                    404,
                    "unknown_model",
                    "no model named '" + name + "' (serving: " + String.join(", ", modelNames()) + ")");
        return m;
    }

    private static Map<String, Object> describe(Served m) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("name", m.name());
        d.put("classes", m.classifier().classes());
        d.put("input_size", m.classifier().inputSize());
        return d;
    }

    private Answer predict(HttpExchange ex, Served m, long t0) throws IOException {
        return limited(() -> {
            int k = topK(ex.getRequestURI().getRawQuery(), options.defaultTopK());
            byte[] body = body(
                    ex, "empty body: send an image (JPEG, PNG, BMP, TIFF, WebP) or multipart/form-data with images");
            String type = ex.getRequestHeaders().getFirst("Content-Type");
            List<String> names = new ArrayList<>();
            List<byte[]> files = new ArrayList<>();
            if (Multipart.isMultipart(type)) {
                List<Multipart.Part> parts = Multipart.parse(body, Multipart.boundary(type), MAX_IMAGES_PER_REQUEST);
                for (int i = 0; i < parts.size(); i++) {
                    Multipart.Part p = parts.get(i);
                    names.add(p.filename() != null ? p.filename() : p.name() != null ? p.name() : "part " + (i + 1));
                    files.add(p.data());
                }
            } else {
                names.add("body");
                files.add(body);
            }
            List<Object> images = new ArrayList<>();
            for (int i = 0; i < files.size(); i++) images.add(decode(names.get(i), files.get(i)));
            files.clear();
            List<List<Classifier.Guess>> all = classify(m, images, t0);
            List<Object> predictions = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                List<Classifier.Guess> guesses = all.get(i);
                List<Object> top = new ArrayList<>();
                for (Classifier.Guess g : guesses.subList(0, Math.min(k, guesses.size()))) {
                    Map<String, Object> guess = new LinkedHashMap<>();
                    guess.put("label", g.label());
                    guess.put("index", g.index());
                    guess.put("probability", g.probability());
                    top.add(guess);
                }
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("file", names.get(i));
                doc.put("top", top);
                predictions.add(doc);
            }
            return json(200, Map.of("predictions", predictions));
        });
    }

    /**
     * An Open Inference Protocol inference request: base64 image files (decoded here, as predict's) and normalised
     * tensors, each image an item of the model's batcher, so that v1 and v2 requests share forward passes.
     */
    private Answer infer(HttpExchange ex, Served m, long t0) throws IOException {
        return limited(() -> {
            if (ex.getRequestHeaders().containsKey("Inference-Header-Content-Length"))
                throw HttpError.badRequest(
                        "the binary tensor data extension is not supported: send the inputs' data in the JSON");
            byte[] body = body(ex, "empty body: send an inference request (JSON with \"inputs\")");
            OpenInference.Request r =
                    OpenInference.read(body, m.classifier().inputSize(), options.defaultTopK(), MAX_IMAGES_PER_REQUEST);
            body = null; // the encoded images are in r; let the body go
            List<Object> images = new ArrayList<>();
            for (int i = 0; i < r.images().size(); i++) {
                Object image = r.images().get(i);
                images.add(image instanceof byte[] file ? decode(r.names().get(i), file) : image);
                r.images().set(i, null);
            }
            return json(200, OpenInference.response(m.name(), r, m.classifier().classes(), classify(m, images, t0)));
        });
    }

    private interface Call {
        Answer run() throws IOException;
    }

    /** Runs a prediction within the limits: refused while stopping, and beyond --max-concurrent at once. */
    private Answer limited(Call call) throws IOException {
        if (draining)
            throw HttpError.unavailable("shutting_down", "the server is shutting down")
                    .header("Connection", "close");
        if (!permits.tryAcquire())
            throw HttpError.unavailable(
                    "overloaded",
                    "more than " + options.maxConcurrent() + " requests at once (--max-concurrent); try again shortly");
        try {
            return call.run();
        } finally {
            permits.release();
        }
    }

    /** Each image's guesses (all classes, best first) from the model's batcher, within the request timeout. */
    private List<List<Classifier.Guess>> classify(Served m, List<Object> images, long t0) {
        List<Batcher.Item> items = new ArrayList<>();
        for (Object image : images) items.add(new Batcher.Item(image));
        images.clear();
        for (Batcher.Item item : items) m.batcher().submit(item);
        await(items, t0 + TimeUnit.MILLISECONDS.toNanos(options.requestTimeoutMs()));
        List<List<Classifier.Guess>> out = new ArrayList<>();
        for (Batcher.Item item : items) out.add(item.result.join());
        return out;
    }

    /** {@code top_k}, the one query parameter; anything else is refused, so that a misspelling is not ignored. */
    static int topK(String rawQuery, int byDefault) {
        int k = byDefault;
        if (rawQuery == null || rawQuery.isEmpty()) return k;
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            String key, value;
            try {
                key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw HttpError.badRequest("malformed query string: " + rawQuery);
            }
            if (!key.equals("top_k"))
                throw HttpError.badRequest("unknown query parameter '" + key + "' (expected top_k)");
            try {
                k = Integer.parseInt(value.trim());
            } catch (NumberFormatException e) {
                k = 0;
            }
            if (k < 1) throw HttpError.badRequest("top_k must be a whole number of at least 1, got '" + value + "'");
        }
        return k;
    }

    private byte[] body(HttpExchange ex, String whenEmpty) {
        long max = options.maxBodyBytes();
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            long n;
            try {
                n = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n > max)
                throw HttpError.tooLarge(
                        "a body of " + n + " bytes, more than the limit of " + max + " (--max-body-bytes)");
        }
        byte[] b;
        try {
            b = ex.getRequestBody().readNBytes((int) (max + 1));
        } catch (IOException e) {
            throw HttpError.badRequest("could not read the request body: " + e.getMessage());
        }
        if (b.length > max)
            throw HttpError.tooLarge("a body of more than the limit of " + max + " bytes (--max-body-bytes)");
        if (b.length == 0) throw HttpError.badRequest(whenEmpty);
        return b;
    }

    /**
     * An image file's pixels, refused with 413 beyond the pixel limit (by its header before decoding, where the
     * format's header is read, as the loader does) and with 400 when it is not a readable image.
     */
    private BufferedImage decode(String name, byte[] file) {
        long[] claimed = Images.headerSize(file);
        if (claimed != null && more(claimed[0], claimed[1], options.maxPixels()))
            throw HttpError.tooLarge("'" + name + "': the header claims " + claimed[0] + "×" + claimed[1]
                    + " pixels, more than the limit of " + options.maxPixels());
        try (PointerScope scope = new PointerScope()) {
            Mat bgr = Images.decode(Path.of("image"), file);
            if (more(bgr.cols(), bgr.rows(), options.maxPixels()))
                throw HttpError.tooLarge("'" + name + "': " + bgr.cols() + "×" + bgr.rows()
                        + " pixels, more than the limit of " + options.maxPixels());
            return toBufferedImage(bgr);
        } catch (BadImageException e) {
            throw HttpError.badImage("'" + name + "': " + e.reason);
        }
    }

    /** Whether w × h exceeds max, without overflowing. */
    static boolean more(long w, long h, long max) {
        return w > 0 && h > 0 && w > max / h;
    }

    /** The decoder's 8-bit BGR pixels as a TYPE_3BYTE_BGR image, which the Classifier takes without converting. */
    private static BufferedImage toBufferedImage(Mat bgr) {
        if (bgr.type() != opencv_core.CV_8UC3)
            throw new IllegalStateException("the decoder returned type " + bgr.type() + ", not 8-bit BGR");
        Mat m = bgr.isContinuous() ? bgr : bgr.clone();
        BufferedImage bi = new BufferedImage(m.cols(), m.rows(), BufferedImage.TYPE_3BYTE_BGR);
        m.data().get(((DataBufferByte) bi.getRaster().getDataBuffer()).getData());
        return bi;
    }

    private void await(List<Batcher.Item> items, long deadline) {
        CompletableFuture<?> all =
                CompletableFuture.allOf(items.stream().map(i -> i.result).toArray(CompletableFuture[]::new));
        try {
            all.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            boolean running = false;
            for (Batcher.Item i : items) if (!i.cancel() && !i.result.isDone()) running = true;
            if (all.isDone() && !all.isCompletedExceptionally()) return;
            if (running)
                throw new HttpError(
                        504,
                        "timeout",
                        "the prediction did not finish within " + options.requestTimeoutMs()
                                + " ms (--request-timeout-ms)");
            throw HttpError.unavailable(
                    "timeout",
                    "no forward pass began within " + options.requestTimeoutMs()
                            + " ms (--request-timeout-ms): the server is overloaded; try again shortly");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw HttpError.unavailable("shutting_down", "the server is shutting down");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IllegalStateException && stopping)
                throw HttpError.unavailable("shutting_down", "the server is shutting down");
            if (cause instanceof BadImageException bad) throw HttpError.badImage(bad.reason);
            throw new IllegalStateException("the forward pass failed: " + cause, cause);
        }
    }

    private static Answer json(int status, Object doc) {
        try {
            return new Answer(status, JSON_TYPE, JSON.writeValueAsBytes(doc));
        } catch (IOException e) {
            throw new IllegalStateException("cannot render JSON", e);
        }
    }

    private void send(HttpExchange ex, Answer a) throws IOException {
        Headers h = ex.getResponseHeaders();
        h.set("Content-Type", a.contentType());
        if (draining) h.set("Connection", "close");
        ex.sendResponseHeaders(a.status(), a.body().length == 0 ? -1 : a.body().length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(a.body());
        }
    }

    private static String abbreviated(List<String> classes) {
        return classes.size() <= 5
                ? String.join(", ", classes)
                : String.join(", ", classes.subList(0, 5)) + ", ... " + (classes.size() - 5) + " more";
    }
}
