/**
 * Throughput measurements on this machine (training step, phases, predict, loader, whole epoch), for
 * {@code convnet bench}, and recipe benchmarks (a whole run, then its test). Uses run, report, train, model, data,
 * config, engine and io; used by cli and doctor (its synthetic training step).
 */
package convnet.bench;
