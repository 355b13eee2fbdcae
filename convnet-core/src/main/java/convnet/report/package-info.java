/**
 * What a run shows and leaves for people to read: the training listeners that report (metrics.csv, TensorBoard
 * events, PNG plots of the curves, console progress), the confusion matrix as a PNG ({@link
 * convnet.report.ConfusionPlot}, drawn by {@code convnet test}) and the console's ASCII fallback encoder ({@link
 * convnet.report.AsciiFallback}). Imports train (the listener contract and its events), model, data and io; used by
 * run, bench and cli. train never imports report.
 */
package convnet.report;
