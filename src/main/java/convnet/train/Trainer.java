package convnet.train;

import convnet.UserException;
import convnet.data.Loader;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.eval.Evaluator;
import convnet.eval.Metrics;
import convnet.eval.Predictions;
import convnet.model.Net;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The training loop: batches in, gradient steps, validation each epoch, events out to listeners.
 * Each step runs inside its own PointerScope; the network and optimizer live outside any scope.
 */
public final class Trainer {
    public final Net net;
    public final Optimizer optimizer;
    public final Loader train;
    public final Loader val; // may be null
    public final Precision precision;
    public final Schedule schedule;
    public final int epochs;
    public final double labelSmoothing;
    private final List<TrainListener> listeners = new ArrayList<>();
    private double[] lrFactors = {1};
    private List<Tensor> frozen = List.of();
    private int freezeEpochs;

    /** The next epoch to run (0-based) and the number of optimizer steps taken so far. */
    int epoch;
    long step;
    private volatile boolean stopRequested;
    private double currentLr;
    private boolean channelsLast;
    private long seed;
    private String monitor = "val_acc";
    private Distributed dist;
    private final List<Tensor> params = new ArrayList<>();
    /** Float16 loss scaling (null unless the precision needs it). */
    public final LossScaler scaler;
    /** Mid-epoch position: batches done in epoch {@link #epoch} and the epoch's running sums {loss sum, correct, seen, skipped, seconds}. */
    private int batchInEpoch;
    private double[] partial = new double[5];

    public Trainer(Net net, Optimizer optimizer, Loader train, Loader val, Precision precision, Schedule schedule, int epochs,
                   double labelSmoothing) {
        this.net = net;
        this.optimizer = optimizer;
        this.train = train;
        this.val = val;
        this.precision = precision;
        this.schedule = schedule;
        this.epochs = epochs;
        this.labelSmoothing = labelSmoothing;
        var vec = net.parameters();
        for (long i = 0; i < vec.size(); i++) params.add(new Tensor(vec.get(i)));
        this.scaler = precision.scalesLoss() ? new LossScaler(LossScaler.INITIAL_SCALE) : null;
    }

    /** The run's seed (the per-batch random state is derived from it) and the metric the plateau schedule watches. */
    public Trainer seed(long seed, String monitor) {
        this.seed = seed;
        this.monitor = monitor;
        return this;
    }

    /** Averages gradients over the processes of {@code d} after every backward pass. */
    public Trainer distributed(Distributed d) {
        this.dist = d;
        return this;
    }

    /** Runs the network in channels-last memory order (weights converted now, inputs per batch). */
    public Trainer channelsLast(boolean on) {
        this.channelsLast = on;
        if (on) net.toChannelsLast();
        return this;
    }

    public boolean isChannelsLast() {
        return channelsLast;
    }

    /** Per parameter group, the factor on the scheduled learning rate (see {@link Optimizers#create}). */
    public Trainer lrFactors(double[] factors) {
        this.lrFactors = factors.clone();
        return this;
    }

    /** Keeps {@code tensors} fixed (no gradient) during the first {@code epochs} epochs. */
    public Trainer freeze(List<Tensor> tensors, int epochs) {
        this.frozen = List.copyOf(tensors);
        this.freezeEpochs = epochs;
        return this;
    }

    public Trainer listen(TrainListener l) {
        listeners.add(l);
        return this;
    }

    /** The learning rate of the batch being trained (before per-group factors). */
    public double currentLr() {
        return currentLr;
    }

    public int epoch() {
        return epoch;
    }

    public long step() {
        return step;
    }

    /** Where to continue from, after a checkpoint was loaded. */
    public void resumeAt(int nextEpoch, long steps) {
        resumeAt(nextEpoch, steps, 0, null);
    }

    /** Where to continue from: {@code batch} batches into epoch {@code nextEpoch}, with that epoch's running sums so far. */
    public void resumeAt(int nextEpoch, long steps, int batch, double[] sums) {
        this.epoch = nextEpoch;
        this.step = steps;
        this.batchInEpoch = batch;
        this.partial = sums == null ? new double[5] : sums.clone();
    }

    /** Batches done in the current epoch (non-zero only when the run stopped mid-epoch). */
    public int batchInEpoch() {
        return batchInEpoch;
    }

    /** The current epoch's running sums {loss sum, correct, seen, skipped, seconds} (for a mid-epoch checkpoint). */
    public double[] partialSums() {
        return partial.clone();
    }

    /** Asks the loop to stop after the current batch (e.g. on Ctrl-C). */
    public void requestStop() {
        stopRequested = true;
    }

    public boolean stopped() {
        return stopRequested;
    }

    /** One gradient step on a batch; returns {loss, correct}. */
    public double[] step(Loader.Batch b) {
        return Scoped.call(() -> {
            Tensor dense = Tensors.fromFloats(b.images(), b.size(), 3, b.height(), b.width());
            Tensor x = channelsLast ? dense.contiguous(torch.MemoryFormat.ChannelsLast) : dense;
            Tensor y = Tensors.fromLongs(b.labels());
            Tensor logits = precision.forward(() -> net.forward(x)).to(torch.ScalarType.Float);
            Tensor loss = labelSmoothing > 0 ? smoothedLoss(logits, y) : torch.cross_entropy(logits, y);
            optimizer.zero_grad();
            (scaler != null ? scaler.scale(loss) : loss).backward();
            if (dist != null) dist.averageGradients(params);
            if (scaler == null || scaler.unscale(params)) optimizer.step(); // an overflowed fp16 step is skipped
            double l = loss.item_double();
            long correct = logits.argmax(new LongOptional(1), false).eq(y).sum().item_long();
            return new double[] {l, correct};
        });
    }

    private Tensor smoothedLoss(Tensor logits, Tensor y) {
        Tensor logp = torch.log_softmax(logits, 1);
        Tensor nll = torch.nll_loss(logp, y, new org.bytedeco.pytorch.TensorOptional(), 1, -100);
        Tensor uniform = logp.mean(new long[] {1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()).mean().neg();
        return nll.mul(new org.bytedeco.pytorch.Scalar(1 - labelSmoothing)).add(uniform.mul(new org.bytedeco.pytorch.Scalar(labelSmoothing)));
    }

    public void fit() {
        for (TrainListener l : listeners) l.onTrainStart(this);
        int batches = train.batchesPerEpoch();
        if (batches == 0) throw new UserException("the training set (" + train.size() + " images) is smaller than one batch");
        while (epoch < epochs && !stopRequested) {
            int first = Math.min(batchInEpoch, batches);
            double lossSum = partial[0], correct = partial[1];
            int seen = (int) partial[2], skipped = (int) partial[3], b = first;
            long t0 = System.nanoTime() - (long) (partial[4] * 1e9);
            net.train(true);
            for (Tensor t : frozen) t.set_requires_grad(epoch >= freezeEpochs);
            Iterator<Loader.Batch> it = train.epoch(epoch, first);
            double lr = 0;
            while (it.hasNext()) {
                Loader.Batch batch = it.next();
                skipped += batch.skipped();
                lr = schedule.lr(epoch + (double) b / batches);
                Optimizers.setLr(optimizer, lr, lrFactors);
                currentLr = lr;
                // dropout masks depend only on (seed, epoch, batch): a resumed epoch, even one stopped mid-way, repeats exactly
                torch.manual_seed(seed * 1_000_003L + epoch * 100_003L + b);
                b++;
                if (batch.size() > 0) {
                    double[] r = step(batch);
                    if (!Double.isFinite(r[0])) {
                        throw new UserException("training diverged: the loss became " + r[0] + " at epoch " + (epoch + 1) + ", batch " + b
                                + " (try a lower learning rate); the last good checkpoint is kept");
                    }
                    step++;
                    lossSum += r[0] * batch.size();
                    correct += r[1];
                    seen += batch.size();
                    for (TrainListener l : listeners) l.onBatchEnd(this, epoch, b, batches, lossSum / seen, correct / seen);
                }
                if (stopRequested && b < batches) {
                    // stopped mid-epoch (Ctrl-C): the listeners may save where we are; a resume continues from the next batch
                    batchInEpoch = b;
                    partial = new double[] {lossSum, correct, seen, skipped, (System.nanoTime() - t0) / 1e9};
                    if (b > first) for (TrainListener l : listeners) l.onStop(this);
                    break;
                }
            }
            if (stopRequested && b < batches) break;
            batchInEpoch = 0;
            partial = new double[5];
            if (dist != null) { // report the statistics of the whole batch, not this process's shard
                double ls = lossSum, c = correct, n = seen;
                double[] total = Scoped.call(() -> dist.sum(ls, c, n));
                lossSum = total[0];
                correct = total[1];
                seen = (int) Math.round(total[2]);
            }
            double valLoss = Double.NaN, valAcc = Double.NaN, valTop5 = Double.NaN;
            if (val != null && val.size() > 0) {
                Predictions p = Evaluator.run(net, val, precision);
                Metrics m = Metrics.of(p, net.numClasses());
                valLoss = m.loss();
                valAcc = m.top1();
                valTop5 = m.top5();
            }
            schedule.epochEnd(epoch, switch (monitor) {
                case "val_loss" -> valLoss;
                case "train_loss" -> lossSum / Math.max(1, seen);
                default -> valAcc;
            });
            EpochStats stats = new EpochStats(epoch + 1, lr, lossSum / Math.max(1, seen), correct / Math.max(1, seen), valLoss, valAcc,
                    valTop5, (System.nanoTime() - t0) / 1e9, step, skipped);
            epoch++;
            for (TrainListener l : listeners) l.onEpochEnd(this, stats);
        }
        for (TrainListener l : listeners) l.onTrainEnd(this);
    }
}
