package convnet.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.io.Csv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Precision, recall, F1 and support against confusion matrices worked out by hand (the fractions in the
 * comments), including the corner cases: a class never predicted, a class absent from both sides, a class
 * predicted but absent from the data.
 */
class ClassScoresTest {
    static final double EPS = 1e-12;

    /*
     * rows: true class, columns: predicted      column sums (predicted): a 8, b 8, c 5
     *        a  b  c   support
     *   a    5  2  1   8        P 5/8  R 5/8  F1 2·5/(2·5+3+3) = 10/16
     *   b    1  6  0   7        P 6/8  R 6/7  F1 12/(12+2+1)  = 12/15
     *   c    2  0  4   6        P 4/5  R 4/6  F1 8/(8+1+2)    = 8/11
     */
    static final long[][] THREE = {{5, 2, 1}, {1, 6, 0}, {2, 0, 4}};

    @Test
    void threeClassesByHand() {
        ClassScores s = ClassScores.of(THREE);
        assertArrayEquals(new double[] {5 / 8.0, 6 / 8.0, 4 / 5.0}, s.precision(), EPS);
        assertArrayEquals(new double[] {5 / 8.0, 6 / 7.0, 4 / 6.0}, s.recall(), EPS);
        assertArrayEquals(new double[] {10 / 16.0, 12 / 15.0, 8 / 11.0}, s.f1(), EPS);
        assertArrayEquals(new long[] {8, 7, 6}, s.support());
        // macro: plain means; (5/8 + 6/7 + 2/3) / 3 = (105 + 144 + 112) / 168 / 3 = 361/504
        assertEquals((5 / 8.0 + 6 / 8.0 + 4 / 5.0) / 3, s.macro().precision(), EPS);
        assertEquals(0.725, s.macro().precision(), EPS);
        assertEquals(361 / 504.0, s.macro().recall(), EPS);
        assertEquals(947 / 1320.0, s.macro().f1(), EPS); // (275 + 352 + 320) / 440 / 3
        assertEquals(21, s.macro().support());
        // weighted by support 8, 7, 6 of 21: precision (5 + 5.25 + 4.8) / 21; recall = accuracy 15/21
        assertEquals(15.05 / 21, s.weighted().precision(), EPS);
        assertEquals(15 / 21.0, s.weighted().recall(), EPS);
        assertEquals(823 / 1155.0, s.weighted().f1(), EPS); // (5 + 28/5 + 48/11) / 21
        assertEquals(21, s.weighted().support());
    }

    /*
     *        a  b  c  d   support
     *   a    3  0  0  1   4    P 3/5 (column a: 3 + 2)  R 3/4  F1 6/(6+2+1) = 2/3
     *   b    2  0  0  0   2    never predicted: P 0/0 → 0, R 0/2, F1 0
     *   c    0  0  0  0   0    neither true nor predicted: no figures, not averaged
     *   d    0  0  0  0   0    predicted once, never true: P 0/1, R 0/0 → 0, F1 0
     * macro over a, b, d: P 0.6/3, R 0.75/3, F1 (2/3)/3; weighted over supports 4, 2, 0 of 6.
     */
    @Test
    void classesNeverPredictedOrAbsent() {
        ClassScores s = ClassScores.of(new long[][] {{3, 0, 0, 1}, {2, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}});
        assertEquals(0.6, s.precision()[0], EPS);
        assertEquals(0.75, s.recall()[0], EPS);
        assertEquals(2 / 3.0, s.f1()[0], EPS);
        assertEquals(0, s.precision()[1]);
        assertEquals(0, s.recall()[1]);
        assertEquals(0, s.f1()[1]);
        assertTrue(Double.isNaN(s.precision()[2]) && Double.isNaN(s.recall()[2]) && Double.isNaN(s.f1()[2]));
        assertEquals(0, s.precision()[3]);
        assertEquals(0, s.recall()[3]);
        assertEquals(0, s.f1()[3]);
        assertArrayEquals(new long[] {4, 2, 0, 0}, s.support());
        assertEquals(0.2, s.macro().precision(), EPS);
        assertEquals(0.25, s.macro().recall(), EPS);
        assertEquals(2 / 9.0, s.macro().f1(), EPS);
        assertEquals(0.4, s.weighted().precision(), EPS);
        assertEquals(0.5, s.weighted().recall(), EPS);
        assertEquals(4 / 9.0, s.weighted().f1(), EPS);
        assertEquals(6, s.weighted().support());
    }

    @Test
    void noImagesGiveNoFigures() {
        ClassScores s = ClassScores.of(new long[2][2]);
        assertTrue(
                Double.isNaN(s.macro().precision()) && Double.isNaN(s.weighted().f1()));
        assertEquals(0, s.macro().support());
    }

    /** The same matrix reached from posteriors: Metrics counts the argmax of each row against its label. */
    @Test
    void metricsFromPredictionsGiveTheHandComputedFigures() {
        int n = 21;
        float[][] probs = new float[n][];
        int[] labels = new int[n];
        int i = 0;
        for (int t = 0; t < 3; t++)
            for (int p = 0; p < 3; p++)
                for (long k = 0; k < THREE[t][p]; k++, i++) {
                    probs[i] = new float[] {0.1f, 0.1f, 0.1f};
                    probs[i][p] = 0.8f;
                    labels[i] = t;
                }
        Metrics m = Metrics.of(new Predictions(probs, labels, 0.5), 3);
        for (int t = 0; t < 3; t++) assertArrayEquals(THREE[t], m.confusion()[t]);
        assertEquals(15 / 21.0, m.top1(), EPS);
        ClassScores s = m.classScores();
        assertArrayEquals(new double[] {10 / 16.0, 12 / 15.0, 8 / 11.0}, s.f1(), EPS);
        assertArrayEquals(m.perClass(), s.recall(), EPS, "per-class accuracy is recall");
    }

    @Test
    void theReportCsvHoldsEveryClassAndBothAverages(@TempDir Path tmp) throws Exception {
        Metrics m = new Metrics(21, 15 / 21.0, 1, 0.5, new double[3], THREE);
        Path csv = tmp.resolve("test/report.csv");
        Evaluation.writeReport(csv, List.of("a", "b, with a comma", "c"), m);
        List<List<String>> rows = Csv.parse(Files.readString(csv), csv.toString());
        assertEquals(
                List.of(
                        List.of("class", "precision", "recall", "f1", "support"),
                        List.of("a", "0.625000", "0.625000", "0.625000", "8"),
                        List.of("b, with a comma", "0.750000", "0.857143", "0.800000", "7"),
                        List.of("c", "0.800000", "0.666667", "0.727273", "6"),
                        List.of("macro avg", "0.725000", "0.716270", "0.717424", "21"),
                        List.of("weighted avg", "0.716667", "0.714286", "0.712554", "21")),
                rows);
        try (var files = Files.list(csv.getParent())) {
            assertEquals(List.of(csv), files.toList(), "written atomically: no temporary file left beside it");
        }
        // a class with no figures has empty fields
        Evaluation.writeReport(csv, List.of("x", "y"), new Metrics(1, 1, 1, 0, new double[2], new long[][] {
            {1, 0}, {0, 0}
        }));
        assertEquals("y,,,,0", Files.readAllLines(csv).get(2));
    }
}
