package convnet.train;

import java.util.Random;

/**
 * Mixup and CutMix on a batch, as timm's {@code Mixup}: with probability {@code prob} a batch is mixed with a
 * permutation of itself — by CutMix with probability {@code switchProb} (when both are on), else by
 * Mixup — with λ drawn from Beta(α, α). The targets are mixed with the same λ (soft-target cross-entropy:
 * λ·CE(y) + (1 − λ)·CE(y[perm])). The random draws come from a generator seeded per batch, so a resumed
 * run mixes exactly as an uninterrupted one.
 *
 * @param mixupAlpha  α of Mixup (0: off)
 * @param cutmixAlpha α of CutMix (0: off)
 */
public record Mixing(double mixupAlpha, double cutmixAlpha, double prob, double switchProb) {
    public boolean on() {
        return (mixupAlpha > 0 || cutmixAlpha > 0) && prob > 0;
    }

    /** A batch after mixing: its images, each sample's partner, and the weight λ of the sample's own label. */
    public record Mixed(float[] images, int[] partner, double lambda) {}

    /**
     * Mixes {@code n} images of 3 × {@code h} × {@code w} floats (channel first) with a random permutation of
     * the batch; returns null when this batch is left as it is.
     */
    public Mixed apply(float[] images, int n, int h, int w, Random rng) {
        if (!on() || n < 2 || rng.nextDouble() >= prob) return null;
        boolean cutmix = cutmixAlpha > 0 && (mixupAlpha <= 0 || rng.nextDouble() < switchProb);
        double lambda = beta(cutmix ? cutmixAlpha : mixupAlpha, rng);
        int[] partner = permutation(n, rng);
        float[] out = new float[n * 3 * h * w];
        int plane = h * w, image = 3 * plane;
        if (!cutmix) {
            float a = (float) lambda, b = (float) (1 - lambda);
            for (int i = 0; i < n; i++) {
                int self = i * image, other = partner[i] * image;
                for (int k = 0; k < image; k++) out[self + k] = a * images[self + k] + b * images[other + k];
            }
            return new Mixed(out, partner, lambda);
        }
        // a box of area (1 − λ) at a random centre, clipped to the image; λ becomes the share left uncovered
        int cutH = (int) (h * Math.sqrt(1 - lambda)), cutW = (int) (w * Math.sqrt(1 - lambda));
        int cy = rng.nextInt(h), cx = rng.nextInt(w);
        int y0 = Math.max(0, cy - cutH / 2),
                y1 = Math.min(h, cy + cutH / 2),
                x0 = Math.max(0, cx - cutW / 2),
                x1 = Math.min(w, cx + cutW / 2);
        System.arraycopy(images, 0, out, 0, n * image);
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                for (int y = y0; y < y1; y++) {
                    int row = c * plane + y * w;
                    System.arraycopy(images, partner[i] * image + row + x0, out, i * image + row + x0, x1 - x0);
                }
            }
        }
        return new Mixed(out, partner, 1 - (double) (y1 - y0) * (x1 - x0) / plane);
    }

    static int[] permutation(int n, Random rng) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** A draw from Beta(α, α), as the ratio of two Gamma(α) draws. */
    static double beta(double alpha, Random rng) {
        double x = gamma(alpha, rng), y = gamma(alpha, rng);
        return x + y == 0 ? 0.5 : x / (x + y);
    }

    /** Marsaglia and Tsang's method; for α < 1 through Gamma(α + 1) · U^(1/α). */
    static double gamma(double alpha, Random rng) {
        if (alpha < 1) return gamma(alpha + 1, rng) * Math.pow(rng.nextDouble(), 1 / alpha);
        double d = alpha - 1.0 / 3, c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = rng.nextGaussian(), v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = rng.nextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
        }
    }
}
