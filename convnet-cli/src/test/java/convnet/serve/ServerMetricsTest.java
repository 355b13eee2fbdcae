package convnet.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * /metrics in the Prometheus text format: every line parses, counters count, histograms are consistent, and the JVM's
 * and the process's series are there.
 */
class ServerMetricsTest {
    static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*)\\})?"
                    + " (-?[0-9.eE+-]+|\\+Inf|-Inf|NaN)");
    static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** A parsed sample. */
    record Sample(String name, Map<String, String> labels, double value) {}

    /**
     * Parses exposition text strictly: HELP and TYPE before a metric's samples, each sample line well formed, histogram
     * buckets cumulative with +Inf equal to _count. Returns the samples.
     */
    static List<Sample> parse(String text) {
        Map<String, String> types = new HashMap<>();
        Set<String> helped = new HashSet<>();
        List<Sample> out = new ArrayList<>();
        assertTrue(text.endsWith("\n"), "ends with a line feed");
        for (String line : text.split("\n")) {
            if (line.startsWith("# HELP ")) {
                helped.add(line.split(" ")[2]);
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] t = line.split(" ");
                assertEquals(4, t.length, line);
                assertTrue(List.of("counter", "gauge", "histogram", "summary").contains(t[3]), line);
                assertTrue(helped.contains(t[2]), "HELP before TYPE: " + line);
                types.put(t[2], t[3]);
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertTrue(m.matches(), "not a sample line: '" + line + "'");
            String name = m.group(1), family = name.replaceAll("_(bucket|sum|count)$", "");
            assertTrue(
                    types.containsKey(name)
                            || "histogram".equals(types.get(family))
                            || ("summary".equals(types.get(family)) && !name.endsWith("_bucket")),
                    "no TYPE for " + line);
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) labels.put(l.group(1), l.group(2));
            }
            out.add(new Sample(
                    name,
                    labels,
                    m.group(3).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(3))));
        }
        checkHistograms(out, types);
        return out;
    }

    static void checkHistograms(List<Sample> samples, Map<String, String> types) {
        Map<String, Double> last = new HashMap<>(), lastLe = new HashMap<>(), inf = new HashMap<>();
        for (Sample s : samples) {
            if (s.name().endsWith("_bucket")) {
                Map<String, String> rest = new LinkedHashMap<>(s.labels());
                double le = rest.remove("le").equals("+Inf")
                        ? Double.POSITIVE_INFINITY
                        : Double.parseDouble(s.labels().get("le"));
                String key = s.name() + rest;
                assertTrue(le > lastLe.getOrDefault(key, Double.NEGATIVE_INFINITY), "le ascending: " + key);
                assertTrue(s.value() >= last.getOrDefault(key, 0.0), "buckets cumulative: " + key);
                last.put(key, s.value());
                lastLe.put(key, le);
                if (le == Double.POSITIVE_INFINITY) inf.put(s.name().replace("_bucket", "") + rest, s.value());
            }
            if (s.name().endsWith("_count")
                    && "histogram".equals(types.get(s.name().replace("_count", ""))))
                assertEquals(inf.get(s.name().replace("_count", "") + s.labels()), s.value(), "+Inf = _count: " + s);
        }
    }

    /** The sum of the samples of that name with those labels ({@code le} compared as a number: 1 is 1.0). */
    static double value(List<Sample> samples, String name, String... labels) {
        Map<String, String> want = new LinkedHashMap<>();
        for (int i = 0; i < labels.length; i += 2) want.put(labels[i], labels[i + 1]);
        return samples.stream()
                .filter(s -> s.name().equals(name) && has(s.labels(), want))
                .mapToDouble(Sample::value)
                .sum();
    }

    static boolean has(Map<String, String> labels, Map<String, String> want) {
        for (var w : want.entrySet()) {
            String v = labels.get(w.getKey());
            if (v == null) return false;
            if (w.getKey().equals("le") && !v.equals("+Inf") && !w.getValue().equals("+Inf")) {
                if (Double.parseDouble(v) != Double.parseDouble(w.getValue())) return false;
            } else if (!v.equals(w.getValue())) return false;
        }
        return true;
    }

    @Test
    void countersAndHistogramsInTheTextFormat() {
        ServerMetrics m = new ServerMetrics(16);
        m.queue("tiny", () -> 3);
        m.queue("we\"ird\\name", () -> 0);
        m.inFlight(() -> 2);
        for (int i = 0; i < 5; i++) m.request("predict", 200, 0.003 * i);
        m.request("predict", 400, 0.0001);
        m.request("health", 200, 0.0002);
        m.error("bad_image");
        m.batch("tiny", 1, 0.01);
        m.batch("tiny", 16, 0.05);
        m.batch("tiny", 5, 0.02);
        String text = m.render();
        List<Sample> s = parse(text);
        assertEquals(5, value(s, "convnet_http_requests_total", "endpoint", "predict", "code", "200"));
        assertEquals(1, value(s, "convnet_http_requests_total", "endpoint", "predict", "code", "400"));
        assertEquals(1, value(s, "convnet_http_errors_total", "reason", "bad_image"));
        assertEquals(6, value(s, "convnet_http_request_duration_seconds_count", "endpoint", "predict"));
        assertEquals(3, value(s, "convnet_http_request_duration_seconds_bucket", "endpoint", "predict", "le", "0.005"));
        assertEquals(3, value(s, "convnet_batch_size_count", "model", "tiny"));
        assertEquals(22, value(s, "convnet_batch_size_sum", "model", "tiny"));
        assertEquals(1, value(s, "convnet_batch_size_bucket", "model", "tiny", "le", "1"));
        assertEquals(2, value(s, "convnet_batch_size_bucket", "model", "tiny", "le", "8"));
        assertEquals(3, value(s, "convnet_batch_size_bucket", "model", "tiny", "le", "16"));
        assertEquals(22, value(s, "convnet_images_predicted_total", "model", "tiny"));
        assertEquals(3, value(s, "convnet_queue_images", "model", "tiny"));
        assertEquals(2, value(s, "convnet_http_requests_in_flight"));
        assertTrue(text.contains("model=\"we\\\"ird\\\\name\""), "label values escaped:\n" + text);
    }

    @Test
    void theJvmAndTheProcessHaveTheirSeries() {
        for (int round = 0; round < 2; round++) { // each server's registry has them, not only the first one's
            List<Sample> s = parse(new ServerMetrics(4).render());
            assertTrue(value(s, "jvm_memory_used_bytes", "area", "heap") > 0, "heap in use");
            assertTrue(value(s, "jvm_threads_current") > 0, "threads");
            assertTrue(s.stream().anyMatch(x -> x.name().equals("jvm_gc_collection_seconds_count")), "GC");
            assertTrue(s.stream().anyMatch(x -> x.name().equals("jvm_runtime_info")), "runtime");
            assertTrue(value(s, "process_cpu_seconds_total") > 0, "CPU time");
            assertTrue(value(s, "process_resident_memory_bytes") > 0, "resident memory");
            assertTrue(value(s, "process_open_fds") > 0, "file descriptors");
            assertTrue(value(s, "process_start_time_seconds") > 1.6e9, "start time");
        }
    }

    @Test
    void openMetricsWhenTheScraperAsksForIt() {
        ServerMetrics m = new ServerMetrics(2);
        m.request("predict", 200, 0.01);
        ServerMetrics.Scrape plain = m.scrape(null);
        assertEquals(ServerMetrics.CONTENT_TYPE, plain.contentType());
        ServerMetrics.Scrape open = m.scrape("application/openmetrics-text; version=1.0.0; charset=utf-8");
        assertTrue(open.contentType().startsWith("application/openmetrics-text"), open.contentType());
        String text = new String(open.body(), StandardCharsets.UTF_8);
        assertTrue(text.endsWith("# EOF\n"), text);
        assertTrue(text.contains("convnet_http_requests_total{code=\"200\",endpoint=\"predict\"} 1"), text);
    }
}
