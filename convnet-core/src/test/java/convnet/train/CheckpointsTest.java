package convnet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import convnet.engine.Engine;
import convnet.model.Models;
import convnet.model.Net;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Optimizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which checkpoint folders stay on disk: the two newest, last, best, the k best by metric, and every N-th. */
class CheckpointsTest {
    static List<String> folders(Path run) throws Exception {
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            return s.filter(Files::isDirectory)
                    .map(p -> p.getFileName().toString())
                    .sorted()
                    .toList();
        }
    }

    static void saveEpochs(Checkpoints c, double[] metric, boolean lowerIsBetter, int keepEvery) {
        Net net = Models.spec("preact_resnet20_cifar", 3).build(1);
        Optimizer opt = Optimizers.create(new OptimizerConfig("sgd", 0.1, 0.9, true, 0, 0.9, 0.999), net);
        double best = Double.NaN;
        for (int e = 1; e <= metric.length; e++) {
            double v = metric[e - 1];
            boolean improved = Double.isNaN(best) || (lowerIsBetter ? v < best : v > best);
            if (improved) best = v;
            c.save(
                    net,
                    opt,
                    new Checkpoints.State(
                            e, 0, e * 10L, v, Map.of(CheckpointSaver.KEY, Map.of("metric", best, "epoch", e))),
                    improved,
                    keepEvery > 0 && e % keepEvery == 0);
        }
    }

    @Test
    void keepsTheKBestByAccuracy(@TempDir Path tmp) throws Exception {
        Engine.start(2);
        saveEpochs(
                new Checkpoints(tmp.resolve("checkpoints")).keepBest(3, Metric.VAL_ACC),
                new double[] {0.5, 0.7, 0.6, 0.2, 0.65, 0.3, 0.1},
                false,
                0);
        // best three: 2 (0.7), 5 (0.65), 3 (0.6); two newest: 6, 7
        assertEquals(List.of("epoch-0002", "epoch-0003", "epoch-0005", "epoch-0006", "epoch-0007"), folders(tmp));
        assertEquals(
                tmp.resolve("checkpoints/epoch-0002"), new Checkpoints(tmp.resolve("checkpoints")).resolve("best"));
        assertEquals(
                tmp.resolve("checkpoints/epoch-0007"), new Checkpoints(tmp.resolve("checkpoints")).resolve("last"));
    }

    @Test
    void lossesRankLowestFirstAndEveryNthIsKept(@TempDir Path tmp) throws Exception {
        Engine.start(2);
        saveEpochs(
                new Checkpoints(tmp.resolve("checkpoints")).keepBest(1, Metric.VAL_LOSS),
                new double[] {0.9, 0.5, 0.7, 0.8, 0.95, 0.96},
                true,
                4);
        assertEquals(List.of("epoch-0002", "epoch-0004", "epoch-0005", "epoch-0006"), folders(tmp));
        assertEquals(
                0.5, Checkpoints.verify(tmp.resolve("checkpoints/epoch-0002")).metric());
    }
}
