package convnet.data;

import convnet.data.transform.Pipeline;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

/** Per-channel mean and standard deviation of a set of images, in [0, 1], for normalisation. */
public record ChannelStats(float[] mean, float[] std) {
    private static final int MAX_IMAGES = 2000;

    /** Measured on up to 2,000 of {@code samples} (a fixed random subset) after {@code pipeline} (the evaluation resize and crop). */
    public static ChannelStats measure(List<Sample> samples, Pipeline pipeline, int workers, Loader.OnBadImage onBad) {
        List<Sample> subset = new ArrayList<>(samples);
        Collections.shuffle(subset, new Random(1));
        if (subset.size() > MAX_IMAGES) subset = subset.subList(0, MAX_IMAGES);
        double[] sum = new double[3], sq = new double[3];
        long n = 0;
        try (Loader l = new Loader(
                subset,
                pipeline,
                new float[] {0, 0, 0},
                new float[] {1, 1, 1},
                Loader.Options.evaluation(64, workers, onBad))) {
            Iterator<Loader.Batch> it = l.epoch(0, 0);
            while (it.hasNext()) {
                Loader.Batch b = it.next();
                accumulate(b, sum, sq);
                n += (long) b.size() * b.height() * b.width();
            }
        }
        float[] mean = new float[3], std = new float[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = (float) (sum[c] / n);
            std[c] = (float) Math.sqrt(Math.max(1e-12, sq[c] / n - mean[c] * (double) mean[c]));
        }
        return new ChannelStats(mean, std);
    }

    private static void accumulate(Loader.Batch b, double[] sum, double[] sq) {
        int plane = b.height() * b.width();
        for (int i = 0; i < b.size(); i++) {
            for (int c = 0; c < 3; c++) {
                int off = (i * 3 + c) * plane;
                for (int j = 0; j < plane; j++) {
                    double v = b.images()[off + j];
                    sum[c] += v;
                    sq[c] += v * v;
                }
            }
        }
    }
}
