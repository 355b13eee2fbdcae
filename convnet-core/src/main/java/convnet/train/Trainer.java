package convnet.train;

import convnet.UserException;
import convnet.data.Loader;
import convnet.engine.Precision;
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
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
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
    private java.util.Set<String> frozenNorms = java.util.Set.of();
    private int freezeEpochs;

    /** The next epoch to run (0-based) and the number of optimizer steps taken so far. */
    int epoch;

    long step;
    private volatile boolean stopRequested;
    private double currentLr;
    private boolean channelsLast;
    private long seed;
    private Metric monitor = Metric.VAL_ACC;
    private Distributed dist;
    private final List<Tensor> params = new ArrayList<>();
    /** Float16 loss scaling (null unless the precision needs it). */
    public final LossScaler scaler;
    /** How far epoch {@link #epoch} has come (non-zero only when a run stopped mid-epoch, or while it runs). */
    private EpochProgress progress = EpochProgress.START;

    private int epochStartBatch;
    private Mixing mixing;
    private java.util.Random mixRandom = new java.util.Random(0);
    private double clipGradNorm;
    private int accumulate = 1;
    private ModelEma ema;
    private int pending; // micro-batches of the open accumulation group
    private EarlyStopping earlyStopping;
    private double secondsBefore;
    /** System.nanoTime() when the current epoch began; earlier by the seconds it ran before a mid-epoch resume. */
    private long epochStart;

    public Trainer(
            Net net,
            Optimizer optimizer,
            Loader train,
            Loader val,
            Precision precision,
            Schedule schedule,
            int epochs,
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

    /** The run's seed: the per-batch random state (dropout, mixing) is derived from it. */
    public Trainer seed(long seed) {
        this.seed = seed;
        return this;
    }

    /** The metric the plateau schedule watches. */
    public Trainer monitor(Metric monitor) {
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

    /** Per parameter group, the factor on the scheduled learning rate (see {@link Optimizers#create}). */
    public Trainer lrFactors(double[] factors) {
        this.lrFactors = factors.clone();
        return this;
    }

    /** Keeps {@code tensors} fixed (no gradient) during the first {@code epochs} epochs. */
    public Trainer freeze(List<Tensor> tensors, int epochs) {
        return freeze(tensors, java.util.Set.of(), epochs);
    }

    /**
     * Keeps {@code tensors} fixed during the first {@code epochs} epochs ({@link Integer#MAX_VALUE}: the whole run):
     * they get no gradient, so the optimizer leaves them as they are (no step, no weight decay, no momentum), and the
     * BatchNorm layers named in {@code norms} ({@code layer1.0.bn1}) run in evaluation mode, so that their running
     * statistics stay as they are and normalise their inputs, as when the network was trained.
     */
    public Trainer freeze(List<Tensor> tensors, java.util.Collection<String> norms, int epochs) {
        this.frozen = List.copyOf(tensors);
        this.frozenNorms = java.util.Set.copyOf(norms);
        this.freezeEpochs = epochs;
        return this;
    }

    /** Whether the frozen parameters are held fixed in epoch {@code e} (0-based). */
    public boolean frozenIn(int e) {
        return !frozen.isEmpty() && e < freezeEpochs;
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

    /** Where to continue from, after a checkpoint was loaded: its epoch, step and mid-epoch position. */
    public void resumeAt(Checkpoints.State state) {
        this.epoch = state.epoch();
        this.step = state.step();
        this.progress = state.progress();
    }

    /** Batches done in the current epoch (non-zero only when the run stopped mid-epoch). */
    public int batchInEpoch() {
        return progress.batch();
    }

    /** {@link System#nanoTime()} when the current epoch started in this process. */
    public long epochStartNanos() {
        return epochStart + (long) (secondsBefore * 1e9);
    }

    /** Batches that were already done when the current epoch (re)started: non-zero in an epoch resumed mid-way. */
    public int batchInEpochAtStart() {
        return epochStartBatch;
    }

    /** The current epoch's position and running sums (for a mid-epoch checkpoint). */
    public EpochProgress progress() {
        return progress;
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
        return step(b, true, true);
    }

    /**
     * One micro-batch of a gradient-accumulation group: the gradients are zeroed before the {@code first}
     * one, the loss is divided by the group's size, and the optimizer steps after the {@code last} one.
     * Returns {loss, correct} of this micro-batch (the loss undivided).
     */
    double[] step(Loader.Batch b, boolean first, boolean last) {
        Mixing.Mixed mixed =
                mixing == null ? null : mixing.apply(b.images(), b.size(), b.height(), b.width(), mixRandom);
        float[] images = mixed == null ? b.images() : mixed.images();
        return Scoped.call(() -> {
            Tensor dense = Tensors.fromFloats(images, b.size(), 3, b.height(), b.width());
            Tensor x = channelsLast ? dense.contiguous(torch.MemoryFormat.ChannelsLast) : dense;
            Tensor y = Tensors.fromLongs(b.labels());
            Tensor logits = precision.forward(() -> net.forward(x)).to(torch.ScalarType.Float);
            Tensor loss = loss(logits, y);
            Tensor dominant = y;
            if (mixed != null) {
                // soft targets: λ·CE(y) + (1 − λ)·CE(y of the partner); accuracy against the larger share
                long[] partnerLabels = new long[b.size()];
                for (int i = 0; i < b.size(); i++) partnerLabels[i] = b.labels()[mixed.partner()[i]];
                Tensor yPartner = Tensors.fromLongs(partnerLabels);
                loss = loss.mul(new Scalar(mixed.lambda()))
                        .add(loss(logits, yPartner).mul(new Scalar(1 - mixed.lambda())));
                if (mixed.lambda() < 0.5) dominant = yPartner;
            }
            if (first) optimizer.zero_grad();
            Tensor scaled = accumulate > 1 ? loss.div(new Scalar((double) accumulate)) : loss;
            (scaler != null ? scaler.scale(scaled) : scaled).backward();
            if (!last)
                return new double[] {
                    loss.item_double(),
                    logits.argmax(new LongOptional(1), false).eq(dominant).sum().item_long()
                };
            if (dist != null) dist.averageGradients(params);
            if (scaler == null || scaler.unscale(params)) { // an overflowed fp16 step is skipped
                if (clipGradNorm > 0)
                    torch.clip_grad_norm_(new TensorVector(params.toArray(new Tensor[0])), clipGradNorm);
                optimizer.step();
                if (ema != null) ema.update();
            }
            double l = loss.item_double();
            long correct =
                    logits.argmax(new LongOptional(1), false).eq(dominant).sum().item_long();
            return new double[] {l, correct};
        });
    }

    private Tensor loss(Tensor logits, Tensor y) {
        return labelSmoothing > 0 ? smoothedLoss(logits, y) : torch.cross_entropy(logits, y);
    }

    /** Mixup and CutMix of the training batches (off by default). */
    public Trainer mixing(Mixing m) {
        this.mixing = m != null && m.on() ? m : null;
        return this;
    }

    /** Stops the run when {@code es} says its metric no longer improves. */
    public Trainer earlyStopping(EarlyStopping es) {
        this.earlyStopping = es;
        return this;
    }

    public EarlyStopping earlyStopping() {
        return earlyStopping;
    }

    /** Keeps an average of the weights, evaluated beside them every epoch. */
    public Trainer ema(ModelEma ema) {
        this.ema = ema;
        return this;
    }

    public ModelEma ema() {
        return ema;
    }

    /** Makes each optimizer step from {@code n} batches' gradients (gradient accumulation; 1: off). */
    public Trainer accumulate(int n) {
        this.accumulate = Math.max(1, n);
        return this;
    }

    /** Scales the gradients down to a global L2 norm of at most {@code maxNorm} before each step (0: off). */
    public Trainer clipGradNorm(double maxNorm) {
        this.clipGradNorm = maxNorm;
        return this;
    }

    private Tensor smoothedLoss(Tensor logits, Tensor y) {
        Tensor logp = torch.log_softmax(logits, 1);
        Tensor nll = torch.nll_loss(logp, y, new org.bytedeco.pytorch.TensorOptional(), 1, -100);
        Tensor uniform = logp.mean(new long[] {1}, false, new org.bytedeco.pytorch.ScalarTypeOptional())
                .mean()
                .neg();
        return nll.mul(new Scalar(1 - labelSmoothing)).add(uniform.mul(new Scalar(labelSmoothing)));
    }

    /** Trains epoch after epoch until the last one, or until {@link #requestStop()}. */
    public void fit() {
        for (TrainListener l : listeners) l.onTrainStart(this);
        int batches = train.batchesPerEpoch();
        if (batches == 0)
            throw new UserException("the training set (" + train.size() + " images) is smaller than one batch");
        while (epoch < epochs && !stopRequested && (earlyStopping == null || earlyStopping.stoppedAfter() == 0)) {
            EpochProgress done = trainEpoch(batches);
            if (stopRequested && done.batch() < batches)
                break; // stopped mid-epoch: the listeners have saved where it stood
            endEpoch(done);
        }
        for (TrainListener l : listeners) l.onTrainEnd(this);
    }

    /** Trains the rest of the current epoch from {@link #progress}; returns where it stopped (all batches unless asked to stop). */
    private EpochProgress trainEpoch(int batches) {
        EpochProgress p = progress;
        long t0 = System.nanoTime() - (long) (p.seconds() * 1e9);
        epochStart = t0;
        secondsBefore = p.seconds();
        epochStartBatch = p.batch();
        net.train(true);
        for (Tensor t : frozen) t.set_requires_grad(epoch >= freezeEpochs);
        if (epoch < freezeEpochs) Scoped.run(() -> net.evalOnly(frozenNorms));
        Iterator<Loader.Batch> it = train.epoch(epoch, Math.min(p.batch(), batches));
        while (it.hasNext()) {
            Loader.Batch batch = it.next();
            int b = p.batch();
            currentLr = schedule.lr(epoch + (double) b / batches);
            Optimizers.setLr(optimizer, currentLr, lrFactors);
            // dropout masks depend only on (seed, epoch, batch):
            // a resumed epoch, even one stopped mid-way, repeats exactly
            torch.manual_seed(seed * 1_000_003L + epoch * 100_003L + b);
            mixRandom = new java.util.Random(seed * 7_919L + epoch * 104_729L + b);
            p = new EpochProgress(
                    b + 1, p.lossSum(), p.correct(), p.seen(), p.skipped() + batch.skipped(), p.seconds());
            if (batch.size() > 0) {
                // accumulation groups are counted from the epoch's start, so a resumed epoch groups the same batches
                boolean first = pending == 0, last = (b + 1) % accumulate == 0 || b + 1 == batches;
                pending = last ? 0 : pending + 1;
                double[] r = step(batch, first, last);
                if (!Double.isFinite(r[0])) {
                    throw new UserException(
                            "training diverged: the loss became " + r[0] + " at epoch " + (epoch + 1) + ", batch "
                                    + p.batch() + " (try a lower learning rate); the last good checkpoint is kept");
                }
                if (last) step++;
                p = new EpochProgress(
                        p.batch(),
                        p.lossSum() + r[0] * batch.size(),
                        p.correct() + r[1],
                        p.seen() + batch.size(),
                        p.skipped(),
                        p.seconds());
                for (TrainListener l : listeners)
                    l.onBatchEnd(this, epoch, p.batch(), batches, p.lossSum() / p.seen(), p.correct() / p.seen());
            }
            if (stopRequested && p.batch() < batches && pending == 0) {
                // stopped mid-epoch (Ctrl-C), between accumulation groups: the listeners may save where we are,
                // and a resume continues from the next batch
                boolean trainedHere = p.batch() > progress.batch();
                progress = withSeconds(p, t0);
                if (trainedHere) for (TrainListener l : listeners) l.onStop(this);
                return progress;
            }
        }
        return p;
    }

    private static EpochProgress withSeconds(EpochProgress p, long t0) {
        return new EpochProgress(
                p.batch(), p.lossSum(), p.correct(), p.seen(), p.skipped(), (System.nanoTime() - t0) / 1e9);
    }

    /** Validates, steps the schedule and tells the listeners; the epoch counts as done from here. */
    private void endEpoch(EpochProgress p) {
        progress = EpochProgress.START;
        if (dist != null)
            p = summedOverProcesses(p); // report the statistics of the whole batch, not this process's shard
        double trainLoss = p.lossSum() / Math.max(1, p.seen()), trainAcc = p.correct() / Math.max(1, p.seen());
        double valLoss = Double.NaN, valAcc = Double.NaN, valTop5 = Double.NaN;
        if (val != null && val.size() > 0) {
            Predictions predictions = Evaluator.run(net, val, precision, (b, all) -> {
                for (TrainListener l : listeners) l.onValidationBatch(this, b, all);
            });
            Metrics m = Metrics.of(predictions, net.numClasses());
            valLoss = m.loss();
            valAcc = m.top1();
            valTop5 = m.top5();
        }
        double emaValLoss = Double.NaN, emaValAcc = Double.NaN;
        if (ema != null && val != null && val.size() > 0) {
            Metrics m = Metrics.of(ema.withWeightsIn(() -> Evaluator.run(net, val, precision)), net.numClasses());
            emaValLoss = m.loss();
            emaValAcc = m.top1();
        }
        double seconds = (System.nanoTime() - epochStart) / 1e9; // validation included
        EpochStats stats = new EpochStats(
                epoch + 1,
                currentLr,
                trainLoss,
                trainAcc,
                valLoss,
                valAcc,
                valTop5,
                seconds,
                step,
                p.skipped(),
                emaValLoss,
                emaValAcc);
        schedule.epochEnd(epoch, monitor.of(stats));
        if (earlyStopping != null)
            earlyStopping.update(stats); // before the listeners, so the checkpoint holds the decision
        epoch++;
        for (TrainListener l : listeners) l.onEpochEnd(this, stats);
    }

    private EpochProgress summedOverProcesses(EpochProgress p) {
        double[] total = Scoped.call(() -> dist.sum(p.lossSum(), p.correct(), p.seen()));
        return new EpochProgress(p.batch(), total[0], total[1], (int) Math.round(total[2]), p.skipped(), p.seconds());
    }
}
