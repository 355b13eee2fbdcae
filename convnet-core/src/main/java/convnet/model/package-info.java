/**
 * Layers, the VGG and pre-activation ResNet builders (architecture as data), weight init, the model
 * registry and summary. Must not import data (nor anything above it).
 */
package convnet.model;
