/**
 * Image transforms: the ops a config lists under {@code train_transforms} and {@code eval_transforms} (resize,
 * crops, flips, shift-scale-rotate, colour, the AutoAugment policies, one_of, random erasing) and the
 * {@link convnet.data.transform.Pipeline} that runs them on an OpenCV image and normalises it to channel-first
 * floats. Part of data's level: imports config (to read ops with their file and line) and, of data, only
 * {@code Images}; must not import model (nor anything above it).
 */
package convnet.data.transform;
