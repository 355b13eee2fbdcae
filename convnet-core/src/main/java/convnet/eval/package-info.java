/**
 * Evaluation and prediction: metrics, the VGG paper's test-time methods, fusion, the confusion matrix,
 * {@link convnet.eval.Classifier}. Must not import train, report or run.
 */
package convnet.eval;
