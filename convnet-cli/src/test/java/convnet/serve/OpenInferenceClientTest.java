package convnet.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import convnet.TinyRun;
import convnet.eval.Classifier;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convnet serve} as a KServe v2 / Open Inference Protocol server, seen by a client written from the protocol's
 * text alone (its HTTP/REST section: health, server and model metadata, the inference request and response objects,
 * tensor data in row-major order, the data types, errors as {@code {"error": $string}} with an HTTP error status).
 * The client knows nothing of the server's code: it finds the inputs and outputs in the model's metadata by their
 * datatypes and shapes, and its answers are checked against {@link Classifier#predict} on the same JPEGs.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES) // a guard: the class takes well under a minute on an idle 2-core machine
class OpenInferenceClientTest {
    @TempDir
    static Path tmp;

    static Classifier classifier;
    static ModelServer server;
    static Client client;
    static List<Path> jpegs;
    static Metadata meta;

    /** The protocol's tensor data types. */
    static final Set<String> DATATYPES = Set.of(
            "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64",
            "BYTES");

    @BeforeAll
    static void start() throws Exception {
        TinyRun run = TinyRun.train(tmp, "tiny", 4);
        classifier = Classifier.load(run.run(), Classifier.Options.DEFAULT.withThreads(2));
        server = ModelServer.start(Map.of("tiny", classifier), ModelServer.Options.DEFAULT.withPort(0));
        client = new Client(server.port());
        try (Stream<Path> s = Files.list(Path.of("samples/predict"))) {
            jpegs = s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList();
        }
        assertEquals(5, jpegs.size(), "samples/predict");
        meta = Metadata.of(client.get("/v2/models/tiny").json(200));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.stop();
        if (classifier != null) classifier.close();
    }

    // ---- a client from the protocol's text

    /** An HTTP/REST client of the protocol: GET and POST of JSON objects. */
    record Client(int port, HttpClient http) {
        static final ObjectMapper JSON = new ObjectMapper();

        Client(int port) {
            this(
                    port,
                    HttpClient.newBuilder()
                            .version(HttpClient.Version.HTTP_1_1)
                            .connectTimeout(Duration.ofSeconds(5))
                            .build());
        }

        Reply get(String path) {
            return send(request(path).GET());
        }

        Reply post(String path, JsonNode body) {
            return post(path, body.toString().getBytes(StandardCharsets.UTF_8));
        }

        Reply post(String path, byte[] body) {
            return send(request(path)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
        }

        Reply send(String method, String path) {
            return send(request(path).method(method, HttpRequest.BodyPublishers.noBody()));
        }

        HttpRequest.Builder request(String path) {
            return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(120));
        }

        Reply send(HttpRequest.Builder b) {
            try {
                HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
                return new Reply(
                        r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body());
            } catch (IOException | InterruptedException e) {
                throw new AssertionError(e);
            }
        }

        /** An inference request object: {"id", "parameters", "inputs": [...], "outputs": [...]}. */
        static ObjectNode inferenceRequest() {
            ObjectNode r = JSON.createObjectNode();
            r.putArray("inputs");
            return r;
        }

        /** A $request_input with flat (row-major) data. */
        static ObjectNode input(ObjectNode request, String name, String datatype, long... shape) {
            ObjectNode in = ((ArrayNode) request.get("inputs")).addObject();
            in.put("name", name);
            ArrayNode s = in.putArray("shape");
            for (long d : shape) s.add(d);
            in.put("datatype", datatype);
            in.putArray("data");
            return in;
        }
    }

    /** An answer: status, content type, body. */
    record Reply(int status, String contentType, String body) {
        JsonNode json(int expectedStatus) {
            assertEquals(expectedStatus, status, body);
            assertTrue(contentType.startsWith("application/json"), "Content-Type " + contentType);
            try {
                return Client.JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        /** An error: an HTTP error status and the body {"error": $string}, its message holding {@code fragment}. */
        String error(int expectedStatus, String fragment) {
            JsonNode e = json(expectedStatus);
            assertTrue(e.isObject() && e.size() == 1 && e.path("error").isTextual(), body);
            String message = e.get("error").asText();
            assertTrue(message.toLowerCase().contains(fragment.toLowerCase()), "'" + fragment + "' not in: " + message);
            return message;
        }
    }

    /** A $metadata_tensor. */
    record Tensor(String name, String datatype, List<Long> shape) {
        static Tensor of(JsonNode t) {
            assertTrue(
                    t.path("name").isTextual()
                            && t.path("datatype").isTextual()
                            && t.path("shape").isArray(),
                    t.toString());
            assertTrue(DATATYPES.contains(t.get("datatype").asText()), t.toString());
            List<Long> shape = new ArrayList<>();
            for (JsonNode d : t.get("shape")) {
                assertTrue(d.isIntegralNumber() && d.asLong() >= -1, "a dimension is a size or -1: " + t);
                shape.add(d.asLong());
            }
            return new Tensor(t.get("name").asText(), t.get("datatype").asText(), shape);
        }
    }

    /**
     * What the client learns from $metadata_model_response: the encoded-image input (BYTES), the tensor input (FP32
     * [-1, 3, H, W]), the probabilities (FP32 [-1, classes]) and the labels (BYTES).
     */
    record Metadata(
            String name, List<String> versions, Tensor images, Tensor tensor, Tensor probabilities, Tensor labels) {
        static Metadata of(JsonNode m) {
            assertTrue(m.path("name").isTextual(), m.toString());
            assertTrue(
                    m.path("platform").isTextual()
                            && !m.get("platform").asText().isEmpty(),
                    m.toString());
            List<String> versions = new ArrayList<>();
            for (JsonNode v : m.path("versions")) {
                assertTrue(v.isTextual(), m.toString());
                versions.add(v.asText());
            }
            List<Tensor> in = new ArrayList<>(), out = new ArrayList<>();
            for (JsonNode t : m.get("inputs")) in.add(Tensor.of(t));
            for (JsonNode t : m.get("outputs")) out.add(Tensor.of(t));
            return new Metadata(
                    m.get("name").asText(),
                    versions,
                    only(in, "BYTES"),
                    only(in, "FP32"),
                    only(out, "FP32"),
                    only(out, "BYTES"));
        }

        static Tensor only(List<Tensor> ts, String datatype) {
            List<Tensor> of =
                    ts.stream().filter(t -> t.datatype().equals(datatype)).toList();
            assertEquals(1, of.size(), datatype + " in " + ts);
            return of.get(0);
        }
    }

    /** An output of a response by name, checked against the $response_output schema. */
    static JsonNode output(JsonNode response, String name) {
        for (JsonNode o : response.get("outputs")) {
            assertTrue(o.path("name").isTextual() && o.path("datatype").isTextual(), o.toString());
            assertTrue(o.path("shape").isArray() && o.path("data").isArray(), o.toString());
            if (o.get("name").asText().equals(name)) return o;
        }
        throw new AssertionError("no output '" + name + "' in " + response);
    }

    static List<Long> shape(JsonNode output) {
        List<Long> s = new ArrayList<>();
        for (JsonNode d : output.get("shape")) s.add(d.asLong());
        return s;
    }

    static String infer() {
        return "/v2/models/tiny/infer";
    }

    /** An inference request carrying the JPEGs as one BYTES input, base64 in JSON strings. */
    static ObjectNode jpegRequest(List<Path> files) throws IOException {
        ObjectNode r = Client.inferenceRequest();
        ArrayNode data = (ArrayNode)
                Client.input(r, meta.images().name(), "BYTES", files.size()).get("data");
        for (Path f : files) data.add(Base64.getEncoder().encodeToString(Files.readAllBytes(f)));
        return r;
    }

    /** The classifier's probabilities for a file, in class order. */
    static double[] expected(Path file) {
        double[] p = new double[classifier.classes().size()];
        for (Classifier.Guess g : classifier.predict(file, p.length)) p[g.index()] = g.probability();
        return p;
    }

    static void assertProbabilities(List<Path> files, JsonNode probabilities) {
        int c = classifier.classes().size();
        assertEquals("FP32", probabilities.get("datatype").asText());
        assertEquals(List.of((long) files.size(), (long) c), shape(probabilities));
        JsonNode data = probabilities.get("data");
        assertEquals(files.size() * c, data.size(), "row-major [N, classes]");
        for (int i = 0; i < files.size(); i++) {
            double[] want = expected(files.get(i));
            double sum = 0;
            for (int j = 0; j < c; j++) {
                assertEquals(want[j], data.get(i * c + j).asDouble(), 1e-5, files.get(i) + " class " + j);
                sum += data.get(i * c + j).asDouble();
            }
            assertEquals(1, sum, 1e-5);
        }
    }

    // ---- health and metadata

    @Test
    void healthAndMetadata() {
        Reply live = client.get("/v2/health/live");
        assertEquals(200, live.status());
        if (!live.body().isEmpty()) assertTrue(live.json(200).path("live").asBoolean(), live.body());
        Reply ready = client.get("/v2/health/ready");
        assertEquals(200, ready.status());
        if (!ready.body().isEmpty()) assertTrue(ready.json(200).path("ready").asBoolean(), ready.body());

        JsonNode server = client.get("/v2").json(200);
        assertTrue(server.path("name").isTextual(), server.toString());
        assertTrue(server.path("version").isTextual(), server.toString());
        assertTrue(server.path("extensions").isArray(), server.toString());

        assertEquals("tiny", meta.name());
        int s = classifier.inputSize();
        assertEquals(List.of(-1L, 3L, (long) s, (long) s), meta.tensor().shape(), "FP32 input [N, 3, H, W]");
        assertEquals(-1L, meta.images().shape().get(0), "BYTES input: any number of images");
        assertEquals(
                List.of(-1L, (long) classifier.classes().size()),
                meta.probabilities().shape());
        assertEquals(-1L, meta.labels().shape().get(0));
        // convnet's own parameters: the normalisation an FP32 input needs, readable without parsing prose
        JsonNode parameters = client.get("/v2/models/tiny").json(200).path("parameters");
        for (String key : List.of("mean", "std")) {
            JsonNode values;
            try {
                values = Client.JSON.readTree(parameters.path(key).asText());
            } catch (IOException e) {
                throw new AssertionError(key + " is not JSON: " + parameters, e);
            }
            assertEquals(3, values.size(), key + ": " + parameters);
            for (JsonNode v : values) assertTrue(v.isNumber() && v.asDouble() > 0, key + ": " + parameters);
        }

        JsonNode modelReady = client.get("/v2/models/tiny/ready").json(200);
        assertEquals("tiny", modelReady.path("name").asText(), modelReady.toString());
        assertTrue(modelReady.path("ready").asBoolean(), modelReady.toString());

        assertFalse(meta.versions().isEmpty(), "the model lists the versions one may ask for");
        for (String v : meta.versions()) {
            assertEquals(
                    "tiny",
                    client.get("/v2/models/tiny/versions/" + v)
                            .json(200)
                            .get("name")
                            .asText());
            assertEquals(
                    200, client.get("/v2/models/tiny/versions/" + v + "/ready").status());
        }
    }

    // ---- inference

    @Test
    void jpegsAsBytesGetTheClassifiersAnswers() throws Exception {
        ObjectNode request = jpegRequest(jpegs);
        request.put("id", "request-42");
        request.putObject("parameters").put("top_k", 1);
        JsonNode r = client.post(infer(), request).json(200);
        assertEquals("tiny", r.get("model_name").asText());
        assertEquals("request-42", r.get("id").asText(), "the id is returned");
        assertEquals(2, r.get("outputs").size(), "all outputs when none is asked for");
        assertProbabilities(jpegs, output(r, meta.probabilities().name()));
        JsonNode labels = output(r, meta.labels().name());
        assertEquals("BYTES", labels.get("datatype").asText());
        assertEquals(List.of((long) jpegs.size(), 1L), shape(labels), "top_k 1");
        for (int i = 0; i < jpegs.size(); i++)
            assertEquals(
                    classifier.predict(jpegs.get(i), 1).get(0).label(),
                    labels.get("data").get(i).asText());

        // the default top k (5) of two classes: both, best first; no id asked, none owed
        JsonNode all = client.post(infer(), jpegRequest(jpegs.subList(0, 2))).json(200);
        JsonNode two = output(all, meta.labels().name());
        assertEquals(List.of(2L, 2L), shape(two));
        for (int i = 0; i < 2; i++) {
            List<Classifier.Guess> want = classifier.predict(jpegs.get(i), 2);
            for (int j = 0; j < 2; j++)
                assertEquals(want.get(j).label(), two.get("data").get(i * 2 + j).asText());
        }

        // a version from the metadata, in the URL
        JsonNode versioned = client.post(
                        "/v2/models/tiny/versions/" + meta.versions().get(0) + "/infer",
                        jpegRequest(jpegs.subList(2, 3)))
                .json(200);
        assertProbabilities(
                jpegs.subList(2, 3), output(versioned, meta.probabilities().name()));
    }

    @Test
    void theOutputsAskedForAndNoOthers() throws Exception {
        for (Tensor wanted : List.of(meta.labels(), meta.probabilities())) {
            ObjectNode request = jpegRequest(jpegs.subList(0, 1));
            request.putArray("outputs").addObject().put("name", wanted.name());
            JsonNode r = client.post(infer(), request).json(200);
            assertEquals(1, r.get("outputs").size(), r.toString());
            assertEquals(wanted.name(), r.get("outputs").get(0).get("name").asText());
        }
    }

    /** The JPEG through the model bundle's own evaluation transforms: the normalised tensor the FP32 input takes. */
    static float[] normalised(Path jpeg) {
        return classifier.preprocess(jpeg).chw();
    }

    @Test
    void anFp32TensorInRowMajorOrder() {
        List<Path> two = List.of(jpegs.get(1), jpegs.get(3));
        int s = classifier.inputSize();
        ObjectNode request = Client.inferenceRequest();
        ArrayNode data = (ArrayNode)
                Client.input(request, meta.tensor().name(), "FP32", 2, 3, s, s).get("data");
        for (Path f : two) for (float v : normalised(f)) data.add(v);
        request.putArray("outputs").addObject().put("name", meta.probabilities().name());
        assertProbabilities(
                two,
                output(
                        client.post(infer(), request).json(200),
                        meta.probabilities().name()));

        // the same tensor in its natural nested form [N][3][H][W]
        ObjectNode nested = Client.inferenceRequest();
        ArrayNode n = (ArrayNode)
                Client.input(nested, meta.tensor().name(), "FP32", 1, 3, s, s).putArray("data");
        float[] x = normalised(jpegs.get(4));
        ArrayNode image = n.addArray();
        for (int c = 0; c < 3; c++) {
            ArrayNode plane = image.addArray();
            for (int y = 0; y < s; y++) {
                ArrayNode row = plane.addArray();
                for (int xx = 0; xx < s; xx++) row.add(x[(c * s + y) * s + xx]);
            }
        }
        assertProbabilities(
                List.of(jpegs.get(4)),
                output(
                        client.post(infer(), nested).json(200),
                        meta.probabilities().name()));
    }

    @Test
    void bothInputsInOneRequest() throws Exception {
        int s = classifier.inputSize();
        ObjectNode request = jpegRequest(List.of(jpegs.get(0)));
        ArrayNode data = (ArrayNode)
                Client.input(request, meta.tensor().name(), "FP32", 1, 3, s, s).get("data");
        for (float v : normalised(jpegs.get(2))) data.add(v);
        assertProbabilities(
                List.of(jpegs.get(0), jpegs.get(2)),
                output(
                        client.post(infer(), request).json(200),
                        meta.probabilities().name()));
    }

    @Test
    void v1AndV2RequestsShareAForwardPass() throws Exception {
        // batches of two, waiting up to 20 s for the second: a v1 and a v2 request sent together share one pass
        try (ModelServer s = ModelServer.start(
                Map.of("tiny", classifier),
                ModelServer.Options.DEFAULT.withPort(0).withBatching(2, 20_000))) {
            Client c = new Client(s.port());
            CompletableFuture<Reply> v2 = CompletableFuture.supplyAsync(() -> {
                try {
                    return c.post(infer(), jpegRequest(List.of(jpegs.get(0))));
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            Reply v1 = c.send(c.request("/v1/models/tiny:predict")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(Files.readAllBytes(jpegs.get(1)))));
            assertEquals(200, v1.status(), v1.body());
            assertProbabilities(
                    List.of(jpegs.get(0)), output(v2.get(60, TimeUnit.SECONDS).json(200), "probabilities"));
            String metrics = c.get("/metrics").body();
            List<ServerMetricsTest.Sample> samples = ServerMetricsTest.parse(metrics);
            assertEquals(1, ServerMetricsTest.value(samples, "convnet_batch_size_count", "model", "tiny"), metrics);
            assertEquals(2, ServerMetricsTest.value(samples, "convnet_batch_size_sum", "model", "tiny"), metrics);
        }
    }

    // ---- errors: {"error": $string} with an HTTP error status

    @Test
    void everyErrorIsAnErrorObjectWithAnErrorStatus() throws Exception {
        int s = classifier.inputSize();
        // unknown model or version: 404
        client.get("/v2/models/nope").error(404, "nope");
        client.get("/v2/models/nope/ready").error(404, "nope");
        client.post("/v2/models/nope/infer", jpegRequest(jpegs.subList(0, 1))).error(404, "nope");
        client.get("/v2/models/tiny/versions/999").error(404, "999");
        client.post("/v2/models/tiny/versions/999/infer", jpegRequest(jpegs.subList(0, 1)))
                .error(404, "999");
        client.get("/v2/models/tiny/explain").error(404, "no such endpoint");

        // a wrong method: 405
        client.get(infer()).error(405, "GET");
        client.send("DELETE", "/v2/models/tiny").error(405, "DELETE");
        client.send("POST", "/v2/health/live").error(405, "POST");
        client.send("PUT", "/v2/models/tiny/ready").error(405, "PUT");

        // not an inference request: 400
        client.post(infer(), "this is not JSON".getBytes(StandardCharsets.UTF_8))
                .error(400, "JSON");
        client.post(infer(), "[1, 2, 3]".getBytes(StandardCharsets.UTF_8)).error(400, "object");
        client.post(infer(), "{\"id\": \"1\"}".getBytes(StandardCharsets.UTF_8)).error(400, "inputs");
        client.post(infer(), "{\"instances\": [[1, 2]]}".getBytes(StandardCharsets.UTF_8))
                .error(400, "inputs");
        client.post(infer(), new byte[0]).error(400, "empty");
        ObjectNode cut = jpegRequest(jpegs.subList(0, 1));
        byte[] half = cut.toString().substring(0, cut.toString().length() / 2).getBytes(StandardCharsets.UTF_8);
        client.post(infer(), half).error(400, "JSON");

        // a bad datatype: 400
        ObjectNode wrongType = Client.inferenceRequest();
        Client.input(wrongType, meta.images().name(), "FP32", 1)
                .withArray("data")
                .add(0.5);
        client.post(infer(), wrongType).error(400, "FP32");
        ObjectNode fp64 = Client.inferenceRequest();
        ArrayNode d64 =
                Client.input(fp64, meta.tensor().name(), "FP64", 1, 3, s, s).withArray("data");
        for (int i = 0; i < 3 * s * s; i++) d64.add(0.0);
        client.post(infer(), fp64).error(400, "FP64");
        ObjectNode numbersAsBytes = Client.inferenceRequest();
        Client.input(numbersAsBytes, meta.images().name(), "BYTES", 1)
                .withArray("data")
                .add(42);
        client.post(infer(), numbersAsBytes).error(400, "strings");

        // a bad shape: 400
        ObjectNode small = Client.inferenceRequest();
        ArrayNode ds = Client.input(small, meta.tensor().name(), "FP32", 1, 3, s - 4, s - 4)
                .withArray("data");
        for (int i = 0; i < 3 * (s - 4) * (s - 4); i++) ds.add(0.0);
        client.post(infer(), small).error(400, s + "×" + s);
        ObjectNode grey = Client.inferenceRequest();
        ArrayNode dg =
                Client.input(grey, meta.tensor().name(), "FP32", 1, 1, s, s).withArray("data");
        for (int i = 0; i < s * s; i++) dg.add(0.0);
        client.post(infer(), grey).error(400, "shape");
        ObjectNode tooFew = Client.inferenceRequest();
        Client.input(tooFew, meta.tensor().name(), "FP32", 1, 3, s, s)
                .withArray("data")
                .add(0.0);
        client.post(infer(), tooFew).error(400, "elements");
        ObjectNode mismatch = jpegRequest(jpegs.subList(0, 2));
        ((ArrayNode) mismatch.get("inputs").get(0).get("shape")).set(0, 3);
        client.post(infer(), mismatch).error(400, "elements");
        ObjectNode negative = jpegRequest(jpegs.subList(0, 1));
        ((ArrayNode) negative.get("inputs").get(0).get("shape")).set(0, -1);
        client.post(infer(), negative).error(400, "shape");

        // bad base64, and base64 of something that is not an image: 400
        ObjectNode notBase64 = Client.inferenceRequest();
        Client.input(notBase64, meta.images().name(), "BYTES", 1)
                .withArray("data")
                .add("this is *not* base64!");
        client.post(infer(), notBase64).error(400, "base64");
        ObjectNode notImage = Client.inferenceRequest();
        Client.input(notImage, meta.images().name(), "BYTES", 1)
                .withArray("data")
                .add(Base64.getEncoder()
                        .encodeToString("only text, no image".repeat(10).getBytes(StandardCharsets.UTF_8)));
        client.post(infer(), notImage).error(400, "image");

        // names, outputs and parameters the model does not have: 400
        ObjectNode unknownInput = Client.inferenceRequest();
        Client.input(unknownInput, "input0", "UINT32", 2, 2)
                .withArray("data")
                .add(1)
                .add(2)
                .add(3)
                .add(4);
        client.post(infer(), unknownInput).error(400, "input0");
        ObjectNode unknownOutput = jpegRequest(jpegs.subList(0, 1));
        unknownOutput.putArray("outputs").addObject().put("name", "output0");
        client.post(infer(), unknownOutput).error(400, "output0");
        ObjectNode topZero = jpegRequest(jpegs.subList(0, 1));
        topZero.putObject("parameters").put("top_k", 0);
        client.post(infer(), topZero).error(400, "top_k");
        ObjectNode numericId = jpegRequest(jpegs.subList(0, 1));
        numericId.put("id", 42);
        client.post(infer(), numericId).error(400, "id");

        // and the server is still well
        assertEquals(200, client.post(infer(), jpegRequest(jpegs.subList(0, 1))).status());
        assertNotNull(client.get("/v2/health/ready").json(200));
    }
}
