package convnet.data.transform;

import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Random erasing (Zhong et al. 2020, torchvision's {@code RandomErasing}): with probability {@code p} one
 * rectangle of {@code scale} of the area and aspect ratio in {@code ratio} (log-uniform) is overwritten.
 * It runs on the normalised channel-first floats, after every pixel op, so {@code zero} fills with the
 * dataset's mean colour and {@code random} with standard-normal noise per pixel and channel.
 */
public record RandomErasing(
        double p, double minScale, double maxScale, double minRatio, double maxRatio, boolean random) {

    /** Erases in place {@code out[offset ..]}, a {@code 3 × size × size} image. */
    public void apply(float[] out, int offset, int size, Random rng) {
        if (rng.nextDouble() >= p) return;
        double area = (double) size * size;
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (minScale + rng.nextDouble() * (maxScale - minScale));
            double ratio = Math.exp(Math.log(minRatio) + rng.nextDouble() * (Math.log(maxRatio) - Math.log(minRatio)));
            int h = (int) Math.round(Math.sqrt(target * ratio)), w = (int) Math.round(Math.sqrt(target / ratio));
            if (h < 1 || w < 1 || h >= size || w >= size) continue;
            int y0 = rng.nextInt(size - h + 1), x0 = rng.nextInt(size - w + 1);
            for (int c = 0; c < 3; c++) {
                for (int y = y0; y < y0 + h; y++) {
                    int row = offset + (c * size + y) * size;
                    for (int x = x0; x < x0 + w; x++) out[row + x] = random ? (float) rng.nextGaussian() : 0f;
                }
            }
            return;
        }
    }

    public Map<String, Object> toMap() {
        return Transforms.map(
                "random_erasing",
                "p",
                p,
                "scale",
                List.of(minScale, maxScale),
                "ratio",
                List.of(minRatio, maxRatio),
                "value",
                random ? "random" : "zero");
    }
}
