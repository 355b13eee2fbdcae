package convnet.serve;

import com.sun.net.httpserver.HttpExchange;
import convnet.data.BadImageException;
import convnet.data.Images;
import convnet.eval.Classifier;
import convnet.eval.DecodedImage;
import convnet.eval.PredictionJson;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.function.BooleanSupplier;

/**
 * The two prediction requests, read: {@code POST /v1/models/NAME:predict} (an image body, or multipart with
 * several) and the Open Inference Protocol's {@code POST /v2/models/NAME/infer}. Each is read within the limits
 * (body size, pixels, requests at once), its images decoded here, in the request's thread (the first of
 * {@link Classifier}'s two steps), and handed to the model's {@link Batcher} for the second; the answer is a JSON
 * document.
 */
final class PredictRequests {
    /** Images one request may carry (multipart parts, or v2 inputs' elements). */
    static final int MAX_IMAGES = 64;

    private final ModelServer.Options options;
    private final Semaphore permits;
    private final BooleanSupplier draining;

    PredictRequests(ModelServer.Options options, BooleanSupplier draining) {
        this.options = options;
        this.permits = new Semaphore(options.maxConcurrent());
        this.draining = draining;
    }

    /** {@code POST /v1/models/NAME:predict}: the document {@code predict --json} prints. */
    Object predict(HttpExchange ex, ServedModel m, long t0) {
        return limited(() -> {
            int k = topK(ex.getRequestURI().getRawQuery(), options.defaultTopK());
            byte[] body = body(
                    ex, "empty body: send an image (JPEG, PNG, BMP, TIFF, WebP) or multipart/form-data with images");
            String type = ex.getRequestHeaders().getFirst("Content-Type");
            List<String> names = new ArrayList<>();
            List<byte[]> files = new ArrayList<>();
            if (Multipart.isMultipart(type)) {
                List<Multipart.Part> parts = Multipart.parse(body, Multipart.boundary(type), MAX_IMAGES);
                for (int i = 0; i < parts.size(); i++) {
                    Multipart.Part p = parts.get(i);
                    names.add(p.filename() != null ? p.filename() : p.name() != null ? p.name() : "part " + (i + 1));
                    files.add(p.data());
                }
            } else {
                names.add("body");
                files.add(body);
            }
            body = null;
            List<Classifier.Input> images = decodeAll(files, names);
            List<List<Classifier.Guess>> all = m.batcher().classify(images, t0, options.requestTimeoutMs());
            List<Classifier.Prediction> predictions = new ArrayList<>(all.size());
            for (int i = 0; i < all.size(); i++) {
                List<Classifier.Guess> guesses = all.get(i);
                predictions.add(
                        new Classifier.Prediction(names.get(i), guesses.subList(0, Math.min(k, guesses.size())), null));
            }
            return PredictionJson.document(predictions);
        });
    }

    /**
     * An Open Inference Protocol inference request: base64 image files (decoded here, as predict's) and normalised
     * tensors, each image an item of the model's batcher, so that v1 and v2 requests share forward passes.
     */
    Object infer(HttpExchange ex, ServedModel m, long t0) {
        return limited(() -> {
            if (ex.getRequestHeaders().containsKey("Inference-Header-Content-Length"))
                throw HttpError.badRequest(
                        "the binary tensor data extension is not supported: send the inputs' data in the JSON");
            byte[] body = body(ex, "empty body: send an inference request (JSON with \"inputs\")");
            OpenInference.Request r =
                    OpenInference.read(body, m.classifier().inputSize(), options.defaultTopK(), MAX_IMAGES);
            body = null; // the encoded images are in r; let the body go
            List<Classifier.Input> images = new ArrayList<>();
            try {
                for (int i = 0; i < r.images().size(); i++) {
                    Object image = r.images().get(i);
                    images.add(
                            image instanceof byte[] file
                                    ? decode(r.names().get(i), file)
                                    : (Classifier.Preprocessed) image);
                    r.images().set(i, null);
                }
            } catch (RuntimeException e) {
                close(images);
                throw e;
            }
            List<List<Classifier.Guess>> guesses = m.batcher().classify(images, t0, options.requestTimeoutMs());
            return OpenInference.response(m.name(), r, m.classifier().classes(), guesses);
        });
    }

    private interface Call {
        Object run();
    }

    /** Runs a prediction within the limits: refused while stopping, and beyond --max-concurrent at once. */
    private Object limited(Call call) {
        if (draining.getAsBoolean())
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

    /** Each file decoded, in order; the first that fails closes those before it and answers for the request. */
    private List<Classifier.Input> decodeAll(List<byte[]> files, List<String> names) {
        List<Classifier.Input> images = new ArrayList<>(files.size());
        try {
            for (int i = 0; i < files.size(); i++) {
                images.add(decode(names.get(i), files.get(i)));
                files.set(i, null);
            }
        } catch (RuntimeException e) {
            close(images);
            throw e;
        }
        return images;
    }

    private static void close(List<Classifier.Input> images) {
        for (Classifier.Input i : images) if (i instanceof DecodedImage d) d.close();
    }

    /**
     * An image file's pixels, refused with 413 beyond the pixel limit (by its header before decoding, where the
     * format's header is read, as the loader does) and with 400 when it is not a readable image.
     */
    private DecodedImage decode(String name, byte[] file) {
        long[] claimed = Images.headerSize(file);
        if (claimed != null && more(claimed[0], claimed[1], options.maxPixels()))
            throw HttpError.tooLarge("'" + name + "': the header claims " + claimed[0] + "×" + claimed[1]
                    + " pixels, more than the limit of " + options.maxPixels());
        DecodedImage image;
        try {
            image = DecodedImage.decode(file, "image");
        } catch (BadImageException e) {
            throw HttpError.badImage("'" + name + "': " + e.reason);
        }
        if (more(image.width(), image.height(), options.maxPixels())) {
            String size = image.width() + "×" + image.height();
            image.close();
            throw HttpError.tooLarge(
                    "'" + name + "': " + size + " pixels, more than the limit of " + options.maxPixels());
        }
        return image;
    }

    /** Whether w × h exceeds max, without overflowing. */
    static boolean more(long w, long h, long max) {
        return w > 0 && h > 0 && w > max / h;
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
}
