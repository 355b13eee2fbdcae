package convnet.serve;

import com.sun.net.httpserver.HttpExchange;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Routing: each request to its endpoint (v1, the Open Inference Protocol's v2, health, metrics) and its answer;
 * the prediction endpoints are {@link PredictRequests}'. {@link Exchanges} sends what it answers.
 */
final class Router {

    private final Map<String, ServedModel> models;
    private final ServerMetrics metrics;
    private final PredictRequests predictions;
    private final int defaultTopK;
    private final BooleanSupplier draining;

    Router(
            Map<String, ServedModel> models,
            ServerMetrics metrics,
            PredictRequests predictions,
            ModelServer.Options options,
            BooleanSupplier draining) {
        this.models = models;
        this.metrics = metrics;
        this.predictions = predictions;
        this.defaultTopK = options.defaultTopK();
        this.draining = draining;
    }

    /** The answer to a request, or an {@link HttpError}; {@code endpoint[0]} is set to its name for the metrics. */
    Answer route(HttpExchange ex, String[] endpoint, long t0) {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        switch (path) {
            case "/health" -> {
                endpoint[0] = "health";
                allow(method, "GET");
                if (draining.getAsBoolean()) return Answer.json(503, Map.of("status", "shutting down"));
                Map<String, Object> ok = new LinkedHashMap<>();
                ok.put("status", "ok");
                ok.put("models", List.copyOf(models.keySet()));
                return Answer.json(200, ok);
            }
            case "/metrics" -> {
                endpoint[0] = "metrics";
                allow(method, "GET");
                ServerMetrics.Scrape scrape =
                        metrics.scrape(ex.getRequestHeaders().getFirst("Accept"));
                return new Answer(200, scrape.contentType(), scrape.body());
            }
            case "/v1/models", "/v1/models/" -> {
                endpoint[0] = "models";
                allow(method, "GET");
                List<Object> list = new ArrayList<>();
                for (ServedModel m : models.values()) list.add(describe(m));
                return Answer.json(200, Map.of("models", list));
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
                ServedModel m = model(rest.substring(0, rest.length() - ":predict".length()));
                allow(method, "POST");
                return Answer.json(200, predictions.predict(ex, m, t0));
            }
            endpoint[0] = "models";
            ServedModel m = model(rest);
            allow(method, "GET");
            return Answer.json(200, describe(m));
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
    private Answer v2(HttpExchange ex, String path, String method, String[] endpoint, long t0) {
        boolean draining = this.draining.getAsBoolean();
        switch (path) {
            case "/v2", "/v2/" -> {
                endpoint[0] = "v2_metadata";
                allow(method, "GET");
                return Answer.json(200, OpenInference.serverMetadata());
            }
            case "/v2/health/live" -> {
                endpoint[0] = "v2_health";
                allow(method, "GET");
                return Answer.json(200, Map.of("live", true));
            }
            case "/v2/health/ready" -> {
                endpoint[0] = "v2_health";
                allow(method, "GET");
                // the protocol's "not ready" is a 4xx
                return Answer.json(draining ? 400 : 200, Map.of("ready", !draining));
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
        ServedModel m = model(parts.get(0));
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
                return Answer.json(draining ? 400 : 200, d);
            }
            case "infer" -> {
                allow(method, "POST");
                return Answer.json(200, predictions.infer(ex, m, t0));
            }
            default -> {
                allow(method, "GET");
                return Answer.json(200, OpenInference.modelMetadata(m.name(), m.classifier(), defaultTopK));
            }
        }
    }

    private static void allow(String method, String allowed) {
        if (!method.equals(allowed)) throw HttpError.methodNotAllowed(method, allowed);
    }

    private ServedModel model(String name) {
        ServedModel m = models.get(name);
        if (m == null)
            throw new HttpError(
                    404,
                    "unknown_model",
                    "no model named '" + name + "' (serving: " + String.join(", ", models.keySet()) + ")");
        return m;
    }

    private static Map<String, Object> describe(ServedModel m) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("name", m.name());
        d.put("classes", m.classifier().classes());
        d.put("input_size", m.classifier().inputSize());
        return d;
    }
}
