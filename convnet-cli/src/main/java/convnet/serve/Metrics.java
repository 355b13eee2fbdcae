package convnet.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The server's counters and histograms, written in the Prometheus text exposition format (version 0.0.4).
 * Label values come from small fixed sets (endpoints, status codes, reasons) or from the served models' names,
 * so a client cannot make the output grow.
 */
final class Metrics {
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
    };

    private final Map<String, LongAdder> requests = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> errors = new ConcurrentSkipListMap<>();
    private final Map<String, Histogram> latency = new ConcurrentSkipListMap<>();
    private final Map<String, Histogram> batchSize = new ConcurrentSkipListMap<>();
    private final Map<String, Histogram> forward = new ConcurrentSkipListMap<>();
    private final Map<String, LongAdder> images = new ConcurrentSkipListMap<>();
    private final Map<String, LongSupplier> queued = new ConcurrentHashMap<>();
    private final double[] batchBuckets;
    private LongSupplier inFlight = () -> 0;

    /** {@code maxBatch}: the largest batch, so that the batch-size buckets (powers of two) reach it. */
    Metrics(int maxBatch) {
        List<Double> b = new ArrayList<>();
        for (long v = 1; v < maxBatch; v *= 2) b.add((double) v);
        b.add((double) maxBatch);
        batchBuckets = b.stream().mapToDouble(Double::doubleValue).toArray();
    }

    void inFlight(LongSupplier s) {
        inFlight = s;
    }

    /** A model's queue length (images waiting for a forward pass). */
    void queue(String model, LongSupplier s) {
        queued.put(model, s);
        batchSize.computeIfAbsent(model, k -> new Histogram(batchBuckets));
        forward.computeIfAbsent(model, k -> new Histogram(LATENCY_BUCKETS));
        images.computeIfAbsent(model, k -> new LongAdder());
    }

    void request(String endpoint, int status, double seconds) {
        requests.computeIfAbsent(labels("endpoint", endpoint, "code", Integer.toString(status)), k -> new LongAdder())
                .increment();
        latency.computeIfAbsent(labels("endpoint", endpoint), k -> new Histogram(LATENCY_BUCKETS))
                .observe(seconds);
    }

    void error(String reason) {
        errors.computeIfAbsent(labels("reason", reason), k -> new LongAdder()).increment();
    }

    void batch(String model, int size, double seconds) {
        batchSize.get(model).observe(size);
        forward.get(model).observe(seconds);
        images.get(model).add(size);
    }

    String render() {
        StringBuilder o = new StringBuilder(4096);
        header(o, "convnet_http_requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
        requests.forEach((l, v) -> sample(o, "convnet_http_requests_total", l, v.sum()));
        header(o, "convnet_http_errors_total", "counter", "Requests answered with an error status, by reason.");
        errors.forEach((l, v) -> sample(o, "convnet_http_errors_total", l, v.sum()));
        header(
                o,
                "convnet_http_request_duration_seconds",
                "histogram",
                "Time from a request's arrival at a handler to its answer, by endpoint.");
        latency.forEach((l, h) -> h.render(o, "convnet_http_request_duration_seconds", l));
        header(o, "convnet_http_requests_in_flight", "gauge", "Requests being handled now.");
        sample(o, "convnet_http_requests_in_flight", "", inFlight.getAsLong());
        header(o, "convnet_batch_size", "histogram", "Images per forward pass, by model.");
        batchSize.forEach((m, h) -> h.render(o, "convnet_batch_size", labels("model", m)));
        header(
                o,
                "convnet_forward_seconds",
                "histogram",
                "Time of one batch's preprocessing and forward pass, by model.");
        forward.forEach((m, h) -> h.render(o, "convnet_forward_seconds", labels("model", m)));
        header(o, "convnet_images_predicted_total", "counter", "Images classified, by model.");
        images.forEach((m, v) -> sample(o, "convnet_images_predicted_total", labels("model", m), v.sum()));
        header(o, "convnet_queue_images", "gauge", "Images waiting for a forward pass, by model.");
        new java.util.TreeMap<>(queued)
                .forEach((m, s) -> sample(o, "convnet_queue_images", labels("model", m), s.getAsLong()));
        return o.toString();
    }

    private static void header(StringBuilder o, String name, String type, String help) {
        o.append("# HELP ").append(name).append(' ').append(help).append('\n');
        o.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder o, String name, String labels, double value) {
        o.append(name);
        if (!labels.isEmpty()) o.append('{').append(labels).append('}');
        o.append(' ').append(number(value)).append('\n');
    }

    static String number(double v) {
        if (v == Double.POSITIVE_INFINITY) return "+Inf";
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }

    /** {@code key="value",...} with the exposition format's escapes (backslash, quote, line feed). */
    static String labels(String... keyValues) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < keyValues.length; i += 2) {
            if (i > 0) b.append(',');
            b.append(keyValues[i]).append("=\"");
            for (char c : keyValues[i + 1].toCharArray()) {
                if (c == '\\') b.append("\\\\");
                else if (c == '"') b.append("\\\"");
                else if (c == '\n') b.append("\\n");
                else b.append(c);
            }
            b.append('"');
        }
        return b.toString();
    }

    /** A histogram with fixed upper bounds; written cumulatively, with +Inf equal to the count. */
    static final class Histogram {
        private final double[] bounds;
        private final LongAdder[] counts;
        private final DoubleAdder sum = new DoubleAdder();

        Histogram(double[] bounds) {
            this.bounds = bounds;
            counts = new LongAdder[bounds.length + 1];
            for (int i = 0; i < counts.length; i++) counts[i] = new LongAdder();
        }

        void observe(double v) {
            int i = 0;
            while (i < bounds.length && v > bounds[i]) i++;
            counts[i].increment();
            sum.add(v);
        }

        void render(StringBuilder o, String name, String labels) {
            String sep = labels.isEmpty() ? "" : labels + ",";
            long cumulative = 0;
            for (int i = 0; i < counts.length; i++) {
                cumulative += counts[i].sum();
                String le = i < bounds.length ? number(bounds[i]) : "+Inf";
                o.append(name)
                        .append("_bucket{")
                        .append(sep)
                        .append("le=\"")
                        .append(le)
                        .append("\"} ")
                        .append(cumulative)
                        .append('\n');
            }
            sample(o, name + "_sum", labels, sum.sum());
            sample(o, name + "_count", labels, cumulative);
        }
    }
}
