package convnet.serve;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import convnet.Version;
import convnet.eval.Classifier;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Open Inference Protocol (KServe v2), HTTP/REST with JSON bodies: the documents of the metadata and health
 * endpoints, and the inference request read into images and its response written from the guesses.
 *
 * <p>Each model has one version, {@value #VERSION}; two inputs, of which a request sends one or both:
 * {@value #IMAGE} (BYTES, shape {@code [N]}: image files, each a base64 string), which goes through the model
 * bundle's evaluation transforms as {@code predict} does, and {@value #TENSOR} (FP32, shape {@code [N, 3, S, S]}
 * in row-major order), images already through those transforms and normalised, which go to the network as they
 * are; and two outputs, {@value #PROBABILITIES} (FP32 {@code [N, classes]}, in class order) and {@value #LABELS}
 * (BYTES {@code [N, k]}, the top {@code k} class names, best first; {@code k} from the request parameter
 * {@code top_k}). Rows follow the inputs in the request's order. Anything the server does not know (a field, an
 * input, an output, a parameter, a datatype) is refused with 400 rather than ignored, so that a misspelling is
 * not mistaken for a default.
 */
final class OpenInference {
    static final String VERSION = "1";
    static final String PLATFORM = "convnet_safetensors";
    static final String IMAGE = "image", TENSOR = "input", PROBABILITIES = "probabilities", LABELS = "labels";
    static final String TOP_K = "top_k";

    /** Reads bodies as the body limit allows (one base64 string may be most of it), refusing duplicate keys. */
    private static final ObjectMapper READER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(Integer.MAX_VALUE)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    private OpenInference() {}

    /**
     * An inference request, read: its id (null when it has none), top k, the images in order (encoded files as
     * {@code byte[]}, or {@link Classifier.Preprocessed}), a name for each (for error messages) and the outputs
     * asked for.
     */
    record Request(String id, int topK, List<Object> images, List<String> names, List<String> outputs) {}

    static Map<String, Object> serverMetadata() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("name", "convnet");
        d.put("version", Version.VERSION);
        d.put("extensions", List.of());
        return d;
    }

    static Map<String, Object> modelMetadata(String name, Classifier c, int defaultTopK) {
        int s = c.inputSize();
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("name", name);
        d.put("versions", List.of(VERSION));
        d.put("platform", PLATFORM);
        d.put("inputs", List.of(tensor(IMAGE, "BYTES", -1), tensor(TENSOR, "FP32", -1, 3, s, s)));
        d.put(
                "outputs",
                List.of(tensor(PROBABILITIES, "FP32", -1, c.classes().size()), tensor(LABELS, "BYTES", -1, -1)));
        Map<String, Object> p = new LinkedHashMap<>();
        p.put(TOP_K, defaultTopK);
        p.put("input_size", s);
        p.put(
                "image",
                "image files (JPEG, PNG, BMP, TIFF, WebP), each a base64 string; they go through the model"
                        + " bundle's evaluation transforms and normalisation");
        p.put(
                "input",
                "images already through the model bundle's evaluation transforms and normalised: RGB planes,"
                        + " (pixel / 255 - mean) / std with mean " + floats(c.bundle.mean()) + " and std "
                        + floats(c.bundle.std()) + "; they go to the network as they are");
        // a parameter is a string, number or bool: the lists go as JSON in a string, for clients to read without prose
        p.put("mean", floats(c.bundle.mean()));
        p.put("std", floats(c.bundle.std()));
        try {
            p.put("classes", READER.writeValueAsString(c.classes()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        d.put("parameters", p);
        return d;
    }

    private static String floats(float[] v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) b.append(i == 0 ? "" : ", ").append(v[i]);
        return b.append(']').toString();
    }

    private static Map<String, Object> tensor(String name, String datatype, long... shape) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("name", name);
        t.put("datatype", datatype);
        t.put("shape", shape);
        return t;
    }

    /** The inputs a model takes, for error messages. */
    static String inputs(int s) {
        return "'" + IMAGE + "' (BYTES, shape [N]: image files, base64) or '" + TENSOR + "' (FP32, shape [N, 3, " + s
                + ", " + s + "]: normalised images)";
    }

    // ---- the request

    /**
     * Reads an inference request for a model with {@code inputSize}-pixel inputs; a malformed or unknown part is an
     * {@link HttpError} 400 saying what, and more than {@code maxImages} images a 413.
     */
    static Request read(byte[] body, int inputSize, int defaultTopK, int maxImages) {
        try (JsonParser p = READER.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT)
                throw HttpError.badRequest("the body must be a JSON object (an inference request with \"inputs\")");
            String id = null;
            int topK = defaultTopK;
            boolean sawInputs = false;
            List<Object> images = new ArrayList<>();
            List<String> names = new ArrayList<>();
            List<String> seen = new ArrayList<>();
            List<String> outputs = List.of(PROBABILITIES, LABELS);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "id" -> {
                        if (t != JsonToken.VALUE_STRING) throw HttpError.badRequest("\"id\" must be a string");
                        id = p.getText();
                    }
                    case "parameters" -> topK = requestParameters(parameters(tree(p), "the request"), topK);
                    case "inputs" -> {
                        if (t != JsonToken.START_ARRAY)
                            throw HttpError.badRequest("\"inputs\" must be an array of input tensors");
                        sawInputs = true;
                        while (p.nextToken() != JsonToken.END_ARRAY) {
                            Input in = input(p, inputSize);
                            if (seen.contains(in.name))
                                throw HttpError.badRequest("input '" + in.name + "' is given twice");
                            seen.add(in.name);
                            for (int i = 0; i < in.images.size(); i++) {
                                if (images.size() == maxImages)
                                    throw HttpError.tooLarge("more than " + maxImages + " images in one request");
                                images.add(in.images.get(i));
                                names.add(in.name + "[" + i + "]");
                            }
                        }
                    }
                    case "outputs" -> outputs = outputs(tree(p));
                    default -> {
                        if (field.equals("instances"))
                            throw HttpError.badRequest(
                                    "this is a v1 body (\"" + field + "\"); the v2 protocol takes \"inputs\" (or use"
                                            + " POST /v1/models/NAME:predict)");
                        throw HttpError.badRequest("unknown field \"" + field
                                + "\" (an inference request has id, parameters, inputs and outputs)");
                    }
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null)
                throw HttpError.badRequest("the body must hold one JSON object and nothing after it");
            if (!sawInputs) throw HttpError.badRequest("no \"inputs\": send " + inputs(inputSize));
            if (images.isEmpty()) throw HttpError.badRequest("no images: the inputs hold no elements");
            return new Request(id, topK, images, names, outputs);
        } catch (JsonProcessingException e) {
            throw HttpError.badRequest("the body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw HttpError.badRequest("could not read the body: " + e.getMessage());
        }
    }

    private static JsonNode tree(JsonParser p) throws IOException {
        JsonNode n = p.readValueAsTree();
        return n == null ? NullNode.getInstance() : n;
    }

    private record Input(String name, List<Object> images) {}

    /** One element of "inputs", its data read as it streams (flattened, whatever its nesting). */
    private static Input input(JsonParser p, int s) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT)
            throw HttpError.badRequest("each of \"inputs\" must be a JSON object");
        String name = null, datatype = null;
        long[] shape = null;
        Data data = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "name" -> {
                    if (t != JsonToken.VALUE_STRING) throw HttpError.badRequest("an input's \"name\" must be a string");
                    name = p.getText();
                }
                case "datatype" -> {
                    if (t != JsonToken.VALUE_STRING)
                        throw HttpError.badRequest("an input's \"datatype\" must be a string");
                    datatype = p.getText();
                }
                case "shape" -> shape = shape(tree(p));
                case "parameters" -> inputParameters(parameters(tree(p), "an input"));
                case "data" -> data = Data.read(p);
                default ->
                    throw HttpError.badRequest("unknown field \"" + field
                            + "\" in an input (an input has name, shape, datatype, parameters and data)");
            }
        }
        if (name == null) throw HttpError.badRequest("an input has no \"name\": send " + inputs(s));
        String which = "input '" + name + "'";
        if (!name.equals(IMAGE) && !name.equals(TENSOR))
            throw HttpError.badRequest("unknown input '" + name + "': the model takes " + inputs(s));
        if (datatype == null) throw HttpError.badRequest(which + " has no \"datatype\"");
        if (shape == null) throw HttpError.badRequest(which + " has no \"shape\"");
        if (data == null) throw HttpError.badRequest(which + " has no \"data\"");
        long count = 1;
        for (long d : shape) {
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw HttpError.badRequest(which + ": the shape " + Arrays.toString(shape) + " is too large");
            }
        }
        if (data.count != count)
            throw HttpError.badRequest(which + ": the shape " + Arrays.toString(shape) + " holds " + count
                    + " elements, the data " + data.count);
        List<Object> images = new ArrayList<>();
        if (name.equals(IMAGE)) {
            if (!datatype.equals("BYTES"))
                throw HttpError.badRequest(which + " is BYTES (image files, each a base64 string), not " + datatype);
            if (shape.length < 1 || shape.length > 2 || (shape.length == 2 && shape[1] != 1))
                throw HttpError.badRequest(
                        which + ": the shape must be [N] (or [N, 1]), got " + Arrays.toString(shape));
            if (data.strings == null)
                throw HttpError.badRequest(
                        which + ": BYTES data must be strings (image files, base64), got " + data.kind());
            for (int i = 0; i < data.strings.size(); i++) images.add(base64(data.strings.get(i), name, i));
        } else {
            if (!datatype.equals("FP32"))
                throw HttpError.badRequest(
                        which + " is FP32 (normalised images, shape [N, 3, " + s + ", " + s + "]), not " + datatype);
            if (shape.length != 4 || shape[1] != 3)
                throw HttpError.badRequest(
                        which + ": the shape must be [N, 3, " + s + ", " + s + "], got " + Arrays.toString(shape));
            if (shape[2] != s || shape[3] != s)
                throw HttpError.badRequest(which + ": the model takes " + s + "×" + s + " images, got " + shape[2] + "×"
                        + shape[3] + " (shape [N, 3, " + s + ", " + s + "])");
            if (data.floats == null)
                throw HttpError.badRequest(which + ": FP32 data must be numbers, got " + data.kind());
            int per = 3 * s * s;
            for (int i = 0; i < count / per; i++)
                images.add(new Classifier.Preprocessed(Arrays.copyOfRange(data.floats, i * per, (i + 1) * per)));
        }
        return new Input(name, images);
    }

    private static byte[] base64(String s, String input, int i) {
        try {
            return Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            try {
                return Base64.getUrlDecoder().decode(s);
            } catch (IllegalArgumentException again) {
                throw HttpError.badRequest("input '" + input + "' element " + i + " is not base64: " + e.getMessage());
            }
        }
    }

    private static long[] shape(JsonNode n) {
        if (!n.isArray()) throw HttpError.badRequest("an input's \"shape\" must be an array of whole numbers");
        long[] shape = new long[n.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = n.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0)
                throw HttpError.badRequest("an input's \"shape\" must be whole numbers of 0 or more, got " + n);
            shape[i] = d.asLong();
        }
        return shape;
    }

    /** A parameters object: names to strings, numbers or booleans. */
    private static Map<String, JsonNode> parameters(JsonNode n, String where) {
        if (!n.isObject()) throw HttpError.badRequest("the \"parameters\" of " + where + " must be a JSON object");
        Map<String, JsonNode> out = new LinkedHashMap<>();
        n.fields().forEachRemaining(e -> {
            JsonNode v = e.getValue();
            if (!v.isTextual() && !v.isNumber() && !v.isBoolean())
                throw HttpError.badRequest("parameter '" + e.getKey() + "' must be a string, a number or a boolean");
            out.put(e.getKey(), v);
        });
        return out;
    }

    private static int requestParameters(Map<String, JsonNode> params, int topK) {
        for (var e : params.entrySet()) {
            JsonNode v = e.getValue();
            switch (e.getKey()) {
                case TOP_K -> {
                    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 1)
                        throw HttpError.badRequest("top_k must be a whole number of at least 1, got " + v);
                    topK = v.asInt();
                }
                case "binary_data_output" -> noBinary(v);
                default ->
                    throw HttpError.badRequest("unknown parameter '" + e.getKey() + "' (expected " + TOP_K + ")");
            }
        }
        return topK;
    }

    private static void inputParameters(Map<String, JsonNode> params) {
        for (String key : params.keySet()) {
            if (key.equals("binary_data_size"))
                throw HttpError.badRequest(
                        "the binary tensor data extension is not supported: send the data in the JSON");
            throw HttpError.badRequest("unknown parameter '" + key + "' of an input (inputs take none)");
        }
    }

    private static void noBinary(JsonNode v) {
        if (!v.isBoolean()) throw HttpError.badRequest("binary_data must be true or false, got " + v);
        if (v.asBoolean())
            throw HttpError.badRequest(
                    "the binary tensor data extension is not supported: ask for JSON outputs (binary_data false)");
    }

    private static List<String> outputs(JsonNode n) {
        if (!n.isArray()) throw HttpError.badRequest("\"outputs\" must be an array of requested outputs");
        if (n.isEmpty()) return List.of(PROBABILITIES, LABELS);
        List<String> out = new ArrayList<>();
        for (JsonNode o : n) {
            if (!o.isObject() || !o.path("name").isTextual())
                throw HttpError.badRequest("each of \"outputs\" must be an object with a \"name\"");
            String name = o.get("name").asText();
            o.fieldNames().forEachRemaining(f -> {
                if (!f.equals("name") && !f.equals("parameters"))
                    throw HttpError.badRequest("unknown field \"" + f + "\" in output '" + name
                            + "' (an output has name and" + " parameters)");
            });
            if (o.has("parameters"))
                for (var e :
                        parameters(o.get("parameters"), "output '" + name + "'").entrySet()) {
                    if (!e.getKey().equals("binary_data"))
                        throw HttpError.badRequest("unknown parameter '" + e.getKey() + "' of output '" + name + "'");
                    noBinary(e.getValue());
                }
            if (!name.equals(PROBABILITIES) && !name.equals(LABELS))
                throw HttpError.badRequest("unknown output '" + name + "': the model gives '" + PROBABILITIES
                        + "' (FP32 [N, classes])" + " and '" + LABELS + "' (BYTES [N, k])");
            if (out.contains(name)) throw HttpError.badRequest("output '" + name + "' is asked for twice");
            out.add(name);
        }
        return out;
    }

    /** Tensor data flattened: all numbers (as floats), or all strings; anything else is only counted. */
    private static final class Data {
        float[] floats = new float[256];
        List<String> strings = new ArrayList<>();
        int count;
        String other;

        String kind() {
            if (other != null) return other;
            if (floats != null) return "numbers";
            return strings != null ? "strings" : "numbers and strings";
        }

        static Data read(JsonParser p) throws IOException {
            if (p.currentToken() != JsonToken.START_ARRAY)
                throw HttpError.badRequest("an input's \"data\" must be an array (flat, or nested as the shape)");
            Data d = new Data();
            int depth = 1;
            while (depth > 0) {
                JsonToken t = p.nextToken();
                if (t == null) throw HttpError.badRequest("the body ends inside an input's \"data\"");
                switch (t) {
                    case START_ARRAY -> depth++;
                    case END_ARRAY -> depth--;
                    case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> d.number(p.getFloatValue());
                    case VALUE_STRING -> d.string(p.getText());
                    default -> d.other(t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE ? "booleans" : "null");
                }
            }
            if (d.floats != null) d.floats = Arrays.copyOf(d.floats, d.count);
            return d;
        }

        private void number(float v) {
            strings = null;
            if (floats != null) {
                if (!Float.isFinite(v)) throw HttpError.badRequest("a number in \"data\" is beyond FP32's range");
                if (count == floats.length) floats = Arrays.copyOf(floats, floats.length * 2);
                floats[count] = v;
            }
            count++;
        }

        private void string(String s) {
            floats = null;
            if (strings != null) strings.add(s);
            count++;
        }

        private void other(String what) {
            floats = null;
            strings = null;
            if (other == null) other = what;
            count++;
        }
    }

    // ---- the response

    /** The response to a request, from each image's guesses (all classes, best first). */
    static Map<String, Object> response(
            String model, Request r, List<String> classes, List<List<Classifier.Guess>> guesses) {
        int n = guesses.size(), c = classes.size(), k = Math.min(r.topK(), c);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("model_name", model);
        doc.put("model_version", VERSION);
        if (r.id() != null) doc.put("id", r.id());
        List<Object> outputs = new ArrayList<>();
        for (String name : r.outputs()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("name", name);
            if (name.equals(PROBABILITIES)) {
                float[] p = new float[n * c];
                for (int i = 0; i < n; i++)
                    for (Classifier.Guess g : guesses.get(i)) p[i * c + g.index()] = (float) g.probability();
                o.put("datatype", "FP32");
                o.put("shape", new long[] {n, c});
                o.put("data", p);
            } else {
                List<String> labels = new ArrayList<>(n * k);
                for (List<Classifier.Guess> g : guesses)
                    for (int j = 0; j < k; j++) labels.add(g.get(j).label());
                o.put("datatype", "BYTES");
                o.put("shape", new long[] {n, k});
                o.put("data", labels);
            }
            outputs.add(o);
        }
        doc.put("outputs", outputs);
        return doc;
    }
}
