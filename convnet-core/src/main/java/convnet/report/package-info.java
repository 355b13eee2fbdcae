/**
 * Training listeners that report: metrics.csv, TensorBoard events, PNG plots, console progress, and the
 * logging set-up. They import train's listener contract; train never imports report.
 */
package convnet.report;
