/**
 * Throughput measurements on this machine (training step, phases, predict, loader, whole epoch), for
 * {@code convnet bench}. Uses train, model, data and engine; only cli uses it.
 */
package convnet.bench;
