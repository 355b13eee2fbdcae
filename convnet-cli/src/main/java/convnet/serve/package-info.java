/**
 * The HTTP server of {@code convnet serve}, on the JDK's own {@code com.sun.net.httpserver}: model bundles loaded
 * as {@link convnet.eval.Classifier}s, a per-model queue whose batcher thread lets requests that arrive together
 * share one forward pass, limits (body size, pixels, concurrent requests, time), JSON errors, the Open Inference
 * Protocol (KServe v2) beside convnet's own v1 endpoints, and Prometheus metrics ({@code ServerMetrics}). Uses run
 * (the run directory's layout), eval, bundle and data; only cli uses it.
 */
package convnet.serve;
