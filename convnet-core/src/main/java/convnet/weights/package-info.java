/**
 * Safe readers and writers of weight files (safetensors, PyTorch zip and legacy pickles through a
 * restricted unpickler that runs nothing) and torchvision names. Imports model, engine and io only.
 */
package convnet.weights;
