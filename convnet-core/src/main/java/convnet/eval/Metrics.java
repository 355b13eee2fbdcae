package convnet.eval;

/**
 * Top-1 / top-5 accuracy, per-class accuracy and the confusion matrix of a set of predictions (rows: true class,
 * columns: predicted); {@link #classScores()} adds precision, recall and F1.
 */
public record Metrics(int count, double top1, double top5, double loss, double[] perClass, long[][] confusion) {

    /** Per-class precision, recall, F1 and support, with their macro and weighted averages. */
    public ClassScores classScores() {
        return ClassScores.of(confusion);
    }

    public static Metrics of(Predictions p, int numClasses) {
        int n = p.size(), k = Math.min(5, numClasses);
        long[][] confusion = new long[numClasses][numClasses];
        long hit1 = 0, hit5 = 0;
        for (int i = 0; i < n; i++) {
            float[] row = p.probs()[i];
            int label = p.labels()[i];
            int best = 0;
            for (int c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
            confusion[label][best]++;
            if (best == label) hit1++;
            int higher = 0;
            for (int c = 0; c < row.length; c++) if (row[c] > row[label]) higher++;
            if (higher < k) hit5++;
        }
        double[] perClass = new double[numClasses];
        for (int c = 0; c < numClasses; c++) {
            long total = 0;
            for (long v : confusion[c]) total += v;
            perClass[c] = total == 0 ? Double.NaN : (double) confusion[c][c] / total;
        }
        return new Metrics(
                n,
                n == 0 ? Double.NaN : (double) hit1 / n,
                n == 0 ? Double.NaN : (double) hit5 / n,
                p.meanLoss(),
                perClass,
                confusion);
    }
}
