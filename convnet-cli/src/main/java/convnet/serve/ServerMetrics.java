package convnet.serve;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.LongSupplier;

/**
 * The server's counters and histograms, with the JVM's and the process's own series (memory, GC, threads, CPU,
 * file descriptors), on the Prometheus Java client. Each server has a registry of its own. Label values come
 * from small fixed sets (endpoints, status codes, reasons) or from the served models' names, so a client cannot
 * make the output grow.
 */
final class ServerMetrics {
    /** The Prometheus text format (0.0.4): what a scrape gets unless its Accept header asks for OpenMetrics. */
    static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

    static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
    };

    /** A rendered scrape. */
    record Scrape(String contentType, byte[] body) {}

    private static final ExpositionFormats FORMATS = ExpositionFormats.init();

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Counter errors;
    private final Histogram latency;
    private final Histogram batchSize;
    private final Histogram forward;
    private final Counter images;
    private final Map<String, LongSupplier> queued = new ConcurrentSkipListMap<>();
    private volatile LongSupplier inFlight = () -> 0;

    /** {@code maxBatch}: the largest batch, so that the batch-size buckets (powers of two) reach it. */
    ServerMetrics(int maxBatch) {
        List<Double> b = new ArrayList<>();
        for (long v = 1; v < maxBatch; v *= 2) b.add((double) v);
        b.add((double) maxBatch);
        double[] batchBuckets = b.stream().mapToDouble(Double::doubleValue).toArray();

        requests = Counter.builder()
                .name("convnet_http_requests_total")
                .help("HTTP requests answered, by endpoint and status code.")
                .labelNames("endpoint", "code")
                .register(registry);
        errors = Counter.builder()
                .name("convnet_http_errors_total")
                .help("Requests answered with an error status, by reason.")
                .labelNames("reason")
                .register(registry);
        latency = Histogram.builder()
                .name("convnet_http_request_duration_seconds")
                .help("Time from a request's arrival at a handler to its answer, by endpoint.")
                .labelNames("endpoint")
                .classicOnly()
                .classicUpperBounds(LATENCY_BUCKETS)
                .register(registry);
        GaugeWithCallback.builder()
                .name("convnet_http_requests_in_flight")
                .help("Requests being handled now.")
                .callback(cb -> cb.call(inFlight.getAsLong()))
                .register(registry);
        batchSize = Histogram.builder()
                .name("convnet_batch_size")
                .help("Images per forward pass, by model.")
                .labelNames("model")
                .classicOnly()
                .classicUpperBounds(batchBuckets)
                .register(registry);
        forward = Histogram.builder()
                .name("convnet_forward_seconds")
                .help("Time of one batch's preprocessing and forward pass, by model.")
                .labelNames("model")
                .classicOnly()
                .classicUpperBounds(LATENCY_BUCKETS)
                .register(registry);
        images = Counter.builder()
                .name("convnet_images_predicted_total")
                .help("Images classified, by model.")
                .labelNames("model")
                .register(registry);
        GaugeWithCallback.builder()
                .name("convnet_queue_images")
                .help("Images waiting for a forward pass, by model.")
                .labelNames("model")
                .callback(cb -> queued.forEach((model, size) -> cb.call(size.getAsLong(), model)))
                .register(registry);
        JvmMetrics.builder().register(registry);
    }

    void inFlight(LongSupplier s) {
        inFlight = s;
    }

    /** A model's queue length (images waiting for a forward pass); its series start at zero. */
    void queue(String model, LongSupplier s) {
        queued.put(model, s);
        batchSize.initLabelValues(model);
        forward.initLabelValues(model);
        images.initLabelValues(model);
    }

    void request(String endpoint, int status, double seconds) {
        requests.labelValues(endpoint, Integer.toString(status)).inc();
        latency.labelValues(endpoint).observe(seconds);
    }

    void error(String reason) {
        errors.labelValues(reason).inc();
    }

    void batch(String model, int size, double seconds) {
        batchSize.labelValues(model).observe(size);
        forward.labelValues(model).observe(seconds);
        images.labelValues(model).inc(size);
    }

    /** A scrape in the format the Accept header asks for: OpenMetrics text, or else the Prometheus text format. */
    Scrape scrape(String accept) {
        ExpositionFormatWriter writer = FORMATS.findWriter(accept);
        if (!writer.isAvailable()) writer = FORMATS.getPrometheusTextFormatWriter();
        ByteArrayOutputStream out = new ByteArrayOutputStream(16384);
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Scrape(writer.getContentType(), out.toByteArray());
    }

    /** The Prometheus text format. */
    String render() {
        return new String(scrape(null).body(), StandardCharsets.UTF_8);
    }
}
