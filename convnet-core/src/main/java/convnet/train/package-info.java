/**
 * The training loop ({@link convnet.train.Trainer}), optimizers, schedules, checkpoints and their saver,
 * data-parallel groups, and the listener contract. Writes nothing but checkpoints and the model bundle;
 * must not import report, run or cli.
 */
package convnet.train;
