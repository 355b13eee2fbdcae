package convnet.eval;

/**
 * Precision, recall, F1 and support of each class, with their macro and weighted averages, from a confusion
 * matrix whose rows are the true classes and columns the predicted ones — the figures of scikit-learn's
 * {@code classification_report(y_true, y_pred)}:
 *
 * <ul>
 *   <li>precision = tp / (tp + fp), recall = tp / (tp + fn) = tp / support, F1 = 2·P·R / (P + R); a ratio whose
 *       denominator is 0 counts as 0 (a class never predicted has precision 0, and F1 0);
 *   <li>a class that is neither among the true labels nor among the predictions has no figures ({@code NaN})
 *       and takes no part in the averages;
 *   <li>macro: the plain mean over the other classes; weighted: the mean weighted by support.
 * </ul>
 */
public record ClassScores(
        double[] precision, double[] recall, double[] f1, long[] support, Average macro, Average weighted) {

    /** An average over classes, and the number of images it covers. */
    public record Average(double precision, double recall, double f1, long support) {}

    public static ClassScores of(long[][] confusion) {
        int n = confusion.length;
        double[] precision = new double[n], recall = new double[n], f1 = new double[n];
        long[] support = new long[n];
        long total = 0;
        int present = 0;
        double[] macro = new double[3], weighted = new double[3];
        for (int c = 0; c < n; c++) {
            long tp = confusion[c][c], predicted = 0;
            for (int t = 0; t < n; t++) predicted += confusion[t][c];
            for (long v : confusion[c]) support[c] += v;
            if (support[c] == 0 && predicted == 0) {
                precision[c] = recall[c] = f1[c] = Double.NaN;
                continue;
            }
            precision[c] = ratio(tp, predicted);
            recall[c] = ratio(tp, support[c]);
            double pr = precision[c] + recall[c];
            f1[c] = pr == 0 ? 0 : 2 * precision[c] * recall[c] / pr;
            present++;
            total += support[c];
            double[] figures = {precision[c], recall[c], f1[c]};
            for (int k = 0; k < 3; k++) {
                macro[k] += figures[k];
                weighted[k] += figures[k] * support[c];
            }
        }
        for (int k = 0; k < 3; k++) {
            macro[k] = present == 0 ? Double.NaN : macro[k] / present;
            weighted[k] = total == 0 ? Double.NaN : weighted[k] / total;
        }
        return new ClassScores(
                precision,
                recall,
                f1,
                support,
                new Average(macro[0], macro[1], macro[2], total),
                new Average(weighted[0], weighted[1], weighted[2], total));
    }

    private static double ratio(long a, long b) {
        return b == 0 ? 0 : (double) a / b;
    }
}
