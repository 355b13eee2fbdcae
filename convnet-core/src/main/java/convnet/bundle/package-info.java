/**
 * The files a trained model leaves a run as: {@link convnet.bundle.ModelBundle} (a folder of
 * {@code model.json} and {@code weights.safetensors} that test, predict, serve and Java code load) and
 * {@link convnet.bundle.OnnxExport} (the network as an ONNX file; its protobuf classes, {@code convnet.bundle.onnx},
 * are generated from {@code src/main/proto/onnx/onnx.proto}). Imports weights, model, data, config, engine and io;
 * used by eval and everything above it.
 */
package convnet.bundle;
