package convnet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TestData;
import convnet.data.transform.Pipeline;
import convnet.data.transform.Transforms;
import convnet.engine.Engine;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** data.cache: decoded once, augmented from memory, and the batches are the ones the uncached loader gives. */
class DecodedCacheTest {
    @Test
    void cachedBatchesEqualUncachedOnesEpochAfterEpoch(@TempDir Path tmp) throws Exception {
        Engine.start(2);
        Path data = TestData.subset("flowers5-128", tmp.resolve("d"), 6, "daisy", "rose", "tulip");
        List<Sample> samples = ImageFolder.scan(data, null).samples;
        Pipeline p = new Pipeline(
                List.of(
                        new Transforms.RandomResizedCrop(32, 0.3, 1, 3.0 / 4, 4.0 / 3),
                        new Transforms.WithProbability(new Transforms.HorizontalFlip(), 0.5)),
                32);
        float[] m = {0.5f, 0.5f, 0.5f}, s = {0.2f, 0.2f, 0.2f};
        DecodedCache cache = new DecodedCache();
        try (Loader plain = new Loader(samples, p, m, s, Loader.Options.training(4, 7, 2, Loader.OnBadImage.ERROR));
                Loader cached = new Loader(samples, p, m, s, Loader.Options.training(4, 7, 2, Loader.OnBadImage.ERROR))
                        .cache(cache)) {
            for (int epoch = 0; epoch < 3; epoch++) {
                Iterator<Loader.Batch> a = plain.epoch(epoch, 0), b = cached.epoch(epoch, 0);
                int batches = 0;
                while (a.hasNext()) {
                    Loader.Batch x = a.next(), y = b.next();
                    assertArrayEquals(x.images(), y.images(), "epoch " + epoch + " batch " + batches);
                    assertArrayEquals(x.labels(), y.labels());
                    batches++;
                }
                assertTrue(batches > 2);
                if (epoch == 0)
                    assertEquals(
                            batches * 4,
                            cache.size(),
                            "each image of the epoch decoded once (the incomplete last batch is dropped)");
            }
        }
        assertTrue(cache.size() <= samples.size() && cache.bytes() > 0);
        assertTrue(DecodedCache.estimateBytes(samples) > 0);
    }
}
