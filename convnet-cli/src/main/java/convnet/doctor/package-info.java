/**
 * {@code convnet doctor}: a self-check on a new machine — the CPU, the engine's versions, what {@code precision: auto}
 * picks, and a training step of each model family, each in its own child JVM so that a native crash is reported
 * rather than fatal. Uses bench (the synthetic step), train, model, data and engine; only cli uses it.
 */
package convnet.doctor;
