/**
 * The composition root: {@link convnet.run.RunConfig} (the typed config), {@link convnet.run.RunDir}
 * (layout, lock, restart), {@link convnet.run.TrainingRun} (config to data, model, optimizer, resume and
 * listeners) and {@link convnet.run.TestRun}. What cli and Java callers use; imported by cli only.
 */
package convnet.run;
