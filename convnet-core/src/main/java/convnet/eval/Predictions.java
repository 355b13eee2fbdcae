package convnet.eval;

/** Softmax posteriors for a set of images, with their true labels (-1 where unknown) and the mean loss. */
public record Predictions(float[][] probs, int[] labels, double meanLoss) {
    public int size() {
        return labels.length;
    }
}
