package convnet.run;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TestData;
import convnet.data.DecodedCache;
import convnet.data.ImageFolder;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheDecisionTest {
    @Test
    void autoCachesWhatFitsRamAlwaysNoneNever(@TempDir Path tmp) throws Exception {
        var samples =
                ImageFolder.scan(TestData.subset("flowers5-128", tmp.resolve("d"), 3, "daisy", "rose"), null).samples;
        var val = samples.subList(0, 2);
        assertTrue(
                TrainingData.cacheDecision(DecodedCache.Mode.AUTO, samples, val), "a few small images fit any budget");
        assertTrue(TrainingData.cacheDecision(DecodedCache.Mode.RAM, samples, val));
        assertFalse(TrainingData.cacheDecision(DecodedCache.Mode.NONE, samples, val));
        assertTrue(TrainingData.cacheDecision(DecodedCache.Mode.AUTO, samples, List.of()), "no validation set");
    }
}
