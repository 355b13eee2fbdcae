package convnet.eval;

import convnet.data.Loader;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.Net;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The evaluation loop: one network over a prepared {@link Loader}, in eval mode, collecting softmax posteriors
 * (the trainer's validation, and {@link Evaluation}'s plain method). {@link Evaluation} is what {@code convnet
 * test} asks for: models, test-time methods and fusion on a list of images.
 */
public final class EvalLoop {
    private EvalLoop() {}

    public static Predictions run(Net net, Loader loader, Precision precision) {
        return run(net, loader, precision, (done, total) -> {});
    }

    /** What an evaluation has done so far: batches done of all. */
    @FunctionalInterface
    public interface Progress {
        void batchDone(int done, int total);
    }

    /** As {@link #run(Net, Loader, Precision)}, telling {@code progress} after each batch. */
    public static Predictions run(Net net, Loader loader, Precision precision, Progress progress) {
        int total = loader.batchesPerEpoch(), done = 0;
        boolean wasTraining = net.is_training();
        net.eval();
        List<float[]> probs = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        double lossSum = 0;
        try {
            Iterator<Loader.Batch> it = loader.epoch(0, 0);
            while (it.hasNext()) {
                Loader.Batch b = it.next();
                if (b.size() == 0) continue;
                float[][] out = new float[b.size()][];
                double batchLoss = Scoped.call(() -> {
                    try (NoGradGuard g = new NoGradGuard()) {
                        Tensor x = Tensors.fromFloats(b.images(), b.size(), 3, b.height(), b.width());
                        Tensor logits = precision.forward(() -> net.forward(x)).to(torch.ScalarType.Float);
                        Tensor y = Tensors.fromLongs(b.labels());
                        double loss = torch.cross_entropy(logits, y).item_double();
                        float[] p = Tensors.toFloats(torch.softmax(logits, 1));
                        int c = p.length / b.size();
                        for (int i = 0; i < b.size(); i++) out[i] = Arrays.copyOfRange(p, i * c, (i + 1) * c);
                        return loss * b.size();
                    }
                });
                lossSum += batchLoss;
                progress.batchDone(++done, total);
                for (int i = 0; i < b.size(); i++) {
                    probs.add(out[i]);
                    labels.add((int) b.labels()[i]);
                }
            }
        } finally {
            net.train(wasTraining);
        }
        int[] l = labels.stream().mapToInt(Integer::intValue).toArray();
        return new Predictions(probs.toArray(new float[0][]), l, l.length == 0 ? Double.NaN : lossSum / l.length);
    }
}
