/**
 * Datasets: image decoding, folder scanning, splits, channel statistics, preprocess, the transform
 * pipeline and the parallel loader. Must not import model (nor anything above it).
 */
package convnet.data;
