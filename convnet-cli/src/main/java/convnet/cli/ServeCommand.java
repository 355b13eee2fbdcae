package convnet.cli;

import convnet.UserException;
import convnet.data.Images;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.eval.Classifier;
import convnet.serve.ModelServer;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Serve trained runs over HTTP: POST /v1/models/NAME:predict (an image body, or multipart/form-data with"
                    + " several images; ?top_k=K), GET /v1/models, GET /health, GET /metrics (Prometheus), and the"
                    + " KServe v2 / Open Inference Protocol: GET /v2/health/live|ready, GET /v2/models/NAME[/ready],"
                    + " POST /v2/models/NAME/infer (base64 images as BYTES, or normalised FP32 [N,3,H,W]).",
            "Requests that arrive together share one forward pass (--max-batch, --batch-wait-ms). SIGTERM or Ctrl-C"
                    + " stops accepting, finishes the requests in flight, then exits."
        })
final class ServeCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Parameters(
            index = "0..*",
            arity = "1..*",
            paramLabel = "RUN",
            description =
                    "Run directories (or their model/ folders), each named after its run directory, or" + " NAME=PATH.")
    List<String> runs;

    @Option(
            names = "--port",
            defaultValue = "8080",
            description = "Port (default: ${DEFAULT-VALUE}; 0: any free port).")
    int port;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description = "Address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface).")
    String host;

    @Option(
            names = "--max-batch",
            defaultValue = "16",
            description = "Most images in one forward pass (default: ${DEFAULT-VALUE}; 1 turns batching off).")
    int maxBatch;

    @Option(
            names = "--batch-wait-ms",
            defaultValue = "5",
            description = "Longest wait for more images to fill a batch (default: ${DEFAULT-VALUE}).")
    int batchWaitMs;

    @Option(
            names = "--max-body-bytes",
            defaultValue = "20M",
            paramLabel = "BYTES",
            description = "Largest request body, answered 413 beyond (default: ${DEFAULT-VALUE}; K, M, G: 1024-based).")
    String maxBodyBytes;

    @Option(
            names = "--max-pixels",
            paramLabel = "N",
            description = "Largest image in pixels, answered 413 beyond (default and most: the loader's 100,000,000).")
    Long maxPixels;

    @Option(
            names = "--max-concurrent",
            defaultValue = "64",
            description =
                    "Predict requests handled at once; beyond, 503 with Retry-After: 1 (default: ${DEFAULT-VALUE}).")
    int maxConcurrent;

    @Option(
            names = "--request-timeout-ms",
            defaultValue = "30000",
            description =
                    "Longest a prediction may take; beyond, 503 (still queued) or 504 (default: ${DEFAULT-VALUE}).")
    int requestTimeoutMs;

    @Option(names = "--precision", defaultValue = "32", description = "32 or bf16-mixed.")
    String precision;

    @Override
    public Integer call() throws InterruptedException {
        ModelServer.Options options = new ModelServer.Options(
                host,
                port,
                maxBatch,
                batchWaitMs,
                bytes(maxBodyBytes),
                maxPixels == null ? Images.MAX_PIXELS : maxPixels,
                maxConcurrent,
                requestTimeoutMs,
                ModelServer.Options.DEFAULT.defaultTopK());
        Engine.start(common.threads);
        ModelServer server = ModelServer.open(
                ModelServer.namedRuns(runs),
                options,
                Classifier.Options.DEFAULT.withThreads(common.threads).withPrecision(Precision.of(precision)));
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "serve-shutdown"));
        System.out.printf(
                Locale.ROOT,
                "listening on http://%s:%d (models: %s; batches of up to %d images, %d ms wait)%n",
                host.contains(":") ? "[" + host + "]" : host,
                server.port(),
                String.join(", ", server.modelNames()),
                maxBatch,
                batchWaitMs);
        System.out.flush();
        server.awaitStop();
        return 0;
    }

    /** {@code 20M}, {@code 512K}, {@code 1G} (1024-based) or a plain number of bytes. */
    static long bytes(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.endsWith("B")) t = t.substring(0, t.length() - 1);
        long unit = 1;
        if (t.endsWith("K")) unit = 1L << 10;
        else if (t.endsWith("M")) unit = 1L << 20;
        else if (t.endsWith("G")) unit = 1L << 30;
        if (unit > 1) t = t.substring(0, t.length() - 1);
        try {
            return Math.multiplyExact(Long.parseLong(t.trim()), unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UserException(
                    "--max-body-bytes: expected a number of bytes such as 1048576, 512K or 20M, got '" + s + "'");
        }
    }
}
