/**
 * The composition root: {@link convnet.run.RunConfig} (the typed config), {@link convnet.run.RunDir}
 * (layout, lock, restart), {@link convnet.run.TrainingRun} (config to data, model, optimizer, resume and
 * listeners), {@link convnet.run.TestRun} ({@code convnet test}), {@link convnet.run.RunExport}
 * ({@code convnet export}) and {@link convnet.run.Finetune}. Imports every core package below it (report, train,
 * eval, bundle, weights, model, data, config, engine, io); what cli, serve, bench and Java callers use.
 */
package convnet.run;
