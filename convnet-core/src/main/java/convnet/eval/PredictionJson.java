package convnet.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The prediction document that {@code convnet predict --json} prints and the HTTP server's
 * {@code POST /v1/models/NAME:predict} answers: {@code {"predictions": [{"file", "error" (only when it failed),
 * "top": [{"label", "index", "probability"}, ...]}, ...]}}, fields in that order. Rendering (indented on the
 * console, compact over HTTP) is the caller's.
 */
public final class PredictionJson {
    private PredictionJson() {}

    public static Map<String, Object> document(List<Classifier.Prediction> predictions) {
        List<Object> docs = new ArrayList<>(predictions.size());
        for (Classifier.Prediction p : predictions) docs.add(entry(p));
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("predictions", docs);
        return d;
    }

    private static Map<String, Object> entry(Classifier.Prediction p) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("file", p.name());
        if (p.error() != null) d.put("error", p.error());
        List<Object> top = new ArrayList<>(p.top().size());
        for (Classifier.Guess g : p.top()) {
            Map<String, Object> guess = new LinkedHashMap<>();
            guess.put("label", g.label());
            guess.put("index", g.index());
            guess.put("probability", g.probability());
            top.add(guess);
        }
        d.put("top", top);
        return d;
    }
}
