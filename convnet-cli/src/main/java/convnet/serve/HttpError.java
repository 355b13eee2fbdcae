package convnet.serve;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A request that gets an error answer: the status, a message for the client's {@code {"error": ...}} body, the
 * reason counted in the metrics, and any headers the status calls for (Allow, Retry-After).
 */
final class HttpError extends RuntimeException {
    final int status;
    final String reason;
    final Map<String, String> headers = new LinkedHashMap<>();

    HttpError(int status, String reason, String message) {
        super(message, null, false, false);
        this.status = status;
        this.reason = reason;
    }

    HttpError header(String name, String value) {
        headers.put(name, value);
        return this;
    }

    static HttpError badRequest(String message) {
        return new HttpError(400, "bad_request", message);
    }

    static HttpError badImage(String message) {
        return new HttpError(400, "bad_image", message);
    }

    static HttpError tooLarge(String message) {
        return new HttpError(413, "too_large", message);
    }

    static HttpError notFound(String message) {
        return new HttpError(404, "not_found", message);
    }

    static HttpError methodNotAllowed(String method, String allow) {
        return new HttpError(405, "method_not_allowed", method + " is not allowed here (allowed: " + allow + ")")
                .header("Allow", allow);
    }

    /** 503 with {@code Retry-After: 1}: the client may try again shortly. */
    static HttpError unavailable(String reason, String message) {
        return new HttpError(503, reason, message).header("Retry-After", "1");
    }
}
