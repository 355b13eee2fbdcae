package convnet.serve;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import convnet.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of the server: the socket it listens on, and each exchange from the request to the sent answer,
 * with an {@link HttpError} as its status and {@code {"error": "..."}}, anything unexpected as a 500 with one line
 * (the details go to the log), and every request counted in the metrics. What to answer is the {@link Router}'s.
 */
final class Exchanges {
    private static final Logger log = LoggerFactory.getLogger(ModelServer.class);

    private final Router router;
    private final ServerMetrics metrics;
    private final long maxBodyBytes;
    private final BooleanSupplier draining;
    private final AtomicInteger inFlight = new AtomicInteger();

    Exchanges(Router router, ServerMetrics metrics, long maxBodyBytes, BooleanSupplier draining) {
        this.router = router;
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
        this.draining = draining;
        metrics.inFlight(inFlight::get);
    }

    /** Listens on the options' host and port; a port in use or a host that cannot be resolved is a user error. */
    static HttpServer bind(ModelServer.Options o) {
        InetSocketAddress address = new InetSocketAddress(o.host(), o.port());
        if (address.isUnresolved()) throw new UserException("cannot resolve --host " + o.host());
        try {
            return HttpServer.create(address, Math.max(50, o.maxConcurrent()));
        } catch (BindException e) {
            String why = e.getMessage() != null && e.getMessage().contains("in use")
                    ? "the port is in use (choose another with --port, or 0 for any free port)"
                    : e.getMessage();
            throw new UserException("cannot listen on " + o.host() + ":" + o.port() + ": " + why);
        } catch (IOException e) {
            throw new UserException("cannot listen on " + o.host() + ":" + o.port() + ": " + e.getMessage());
        }
    }

    /** Requests being handled now. */
    int inFlight() {
        return inFlight.get();
    }

    void handle(HttpExchange ex) {
        long t0 = System.nanoTime();
        inFlight.incrementAndGet();
        String[] endpoint = {"other"};
        int status = 500;
        try {
            Answer a;
            try {
                a = router.route(ex, endpoint, t0);
            } catch (HttpError e) {
                metrics.error(e.reason);
                e.headers.forEach(ex.getResponseHeaders()::set);
                a = Answer.json(e.status, Map.of("error", e.getMessage()));
            } catch (Throwable t) {
                metrics.error("internal");
                log.error("unexpected error answering {} {}", ex.getRequestMethod(), ex.getRequestURI(), t);
                a = Answer.json(
                        500,
                        Map.of(
                                "error",
                                "internal error (" + t.getClass().getSimpleName()
                                        + "); the server's log has the details"));
            }
            status = a.status();
            if (status != 413) drain(ex);
            send(ex, a);
            if (log.isDebugEnabled())
                log.debug(
                        "{} {} {} {}",
                        ex.getRequestMethod(),
                        ex.getRequestURI(),
                        status,
                        String.format(Locale.ROOT, "%.1f ms", (System.nanoTime() - t0) / 1e6));
        } catch (IOException e) {
            log.debug("could not answer {} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
        } catch (Throwable t) {
            log.error("unexpected error answering {} {}", ex.getRequestMethod(), ex.getRequestURI(), t);
        } finally {
            metrics.request(endpoint[0], status, (System.nanoTime() - t0) / 1e9);
            ex.close();
            inFlight.decrementAndGet();
        }
    }

    /**
     * Reads what is left of the request body (at most the body limit) before answering: a client still sending a
     * large body that is answered early (an unknown model, a wrong method) would otherwise see its connection reset
     * and lose the answer.
     */
    private void drain(HttpExchange ex) {
        byte[] buffer = new byte[65536];
        long left = maxBodyBytes;
        try {
            InputStream in = ex.getRequestBody();
            for (int n; left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) >= 0; ) left -= n;
        } catch (IOException e) {
            log.debug("could not read the rest of {} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString());
        }
    }

    private void send(HttpExchange ex, Answer a) throws IOException {
        Headers h = ex.getResponseHeaders();
        h.set("Content-Type", a.contentType());
        if (draining.getAsBoolean()) h.set("Connection", "close");
        ex.sendResponseHeaders(a.status(), a.body().length == 0 ? -1 : a.body().length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(a.body());
        }
    }
}
