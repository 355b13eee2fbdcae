/**
 * Evaluation and prediction: metrics, the VGG paper's test-time methods, fusion, the confusion matrix,
 * {@link convnet.eval.Classifier} and the model bundle. Must not import train, report or run.
 */
package convnet.eval;
