package convnet.train;

import convnet.UserException;
import convnet.data.Loader;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.eval.EvalLoop;
import convnet.eval.Metrics;
import convnet.eval.Predictions;
import convnet.model.Net;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The training loop: batches in, gradient steps, validation each epoch, events out to listeners.
 * Each step runs inside its own PointerScope; the network and optimizer live outside any scope.
 * Made from the network, the optimizer, the data and one {@link Options} record (DJL's
 * {@code Trainer(Model, TrainingConfig)}); the parts with state across a resume are its {@link #components()}.
 */
public final class Trainer {
    /**
     * How to train, beyond the network, optimizer and data. Make one with {@link #of} and the {@code with...}
     * methods (each returns a new record; their order does not matter: the trainer applies them in the order the
     * engine needs, e.g. the network's memory format before the average of its weights is taken).
     *
     * @param precision      32, bf16-mixed or 16-mixed (16-mixed adds a {@link LossScaler})
     * @param schedule       the learning rate over training
     * @param epochs         the epochs of the whole run
     * @param labelSmoothing the weight of the uniform target (0: off)
     * @param seed           the run's seed: the per-batch random state (dropout, mixing) is derived from it
     * @param monitor        the metric the plateau schedule watches
     * @param distributed    the processes gradients are averaged over after every backward pass (null: one)
     * @param channelsLast   runs the network in channels-last memory order (weights converted at once, inputs per
     *                       batch)
     * @param lrFactors      per parameter group, the factor on the scheduled learning rate (see
     *                       {@link Optimizers#create})
     * @param freeze         parameters held fixed at the start of the run
     * @param mixing         Mixup and CutMix of the training batches (null or off: none)
     * @param earlyStopping  stops the run when its metric no longer improves (null: never)
     * @param ema            keeps an average of the weights, evaluated beside them every epoch (null: none)
     * @param accumulate     each optimizer step from this many batches' gradients (1: every batch)
     * @param clipGradNorm   the gradients' global L2 norm is scaled down to at most this before each step (0: off)
     */
    public record Options(
            Precision precision,
            Schedule schedule,
            int epochs,
            double labelSmoothing,
            long seed,
            Metric monitor,
            Distributed distributed,
            boolean channelsLast,
            double[] lrFactors,
            Freeze freeze,
            Mixing mixing,
            EarlyStopping earlyStopping,
            ModelEma.Spec ema,
            int accumulate,
            double clipGradNorm) {
        public Options {
            Objects.requireNonNull(precision, "precision");
            Objects.requireNonNull(schedule, "schedule");
            if (monitor == null) monitor = Metric.VAL_ACC;
            lrFactors = lrFactors == null ? new double[] {1} : lrFactors.clone();
            if (freeze == null) freeze = Freeze.NONE;
            if (mixing != null && !mixing.on()) mixing = null;
            accumulate = Math.max(1, accumulate);
        }

        /** Plain training: no smoothing, seed 0, nothing frozen, mixed, averaged, accumulated or clipped. */
        public static Options of(Precision precision, Schedule schedule, int epochs) {
            return new Options(
                    precision, schedule, epochs, 0, 0, Metric.VAL_ACC, null, false, null, null, null, null, null, 1, 0);
        }

        @Override
        public double[] lrFactors() {
            return lrFactors.clone();
        }

        public Options withLabelSmoothing(double v) {
            return with(d -> d.labelSmoothing = v);
        }

        public Options withSeed(long v) {
            return with(d -> d.seed = v);
        }

        public Options withMonitor(Metric v) {
            return with(d -> d.monitor = v);
        }

        public Options withDistributed(Distributed v) {
            return with(d -> d.distributed = v);
        }

        public Options withChannelsLast(boolean v) {
            return with(d -> d.channelsLast = v);
        }

        public Options withLrFactors(double[] v) {
            return with(d -> d.lrFactors = v);
        }

        public Options withFreeze(Freeze v) {
            return with(d -> d.freeze = v);
        }

        public Options withMixing(Mixing v) {
            return with(d -> d.mixing = v);
        }

        public Options withEarlyStopping(EarlyStopping v) {
            return with(d -> d.earlyStopping = v);
        }

        public Options withEma(ModelEma.Spec v) {
            return with(d -> d.ema = v);
        }

        public Options withAccumulate(int v) {
            return with(d -> d.accumulate = v);
        }

        public Options withClipGradNorm(double v) {
            return with(d -> d.clipGradNorm = v);
        }

        private Options with(Consumer<Draft> change) {
            Draft d = new Draft(this);
            change.accept(d);
            return d.options();
        }

        /** The options as changeable fields, so that each {@code with...} names only what it changes. */
        private static final class Draft {
            Precision precision;
            Schedule schedule;
            int epochs;
            double labelSmoothing;
            long seed;
            Metric monitor;
            Distributed distributed;
            boolean channelsLast;
            double[] lrFactors;
            Freeze freeze;
            Mixing mixing;
            EarlyStopping earlyStopping;
            ModelEma.Spec ema;
            int accumulate;
            double clipGradNorm;

            Draft(Options o) {
                precision = o.precision;
                schedule = o.schedule;
                epochs = o.epochs;
                labelSmoothing = o.labelSmoothing;
                seed = o.seed;
                monitor = o.monitor;
                distributed = o.distributed;
                channelsLast = o.channelsLast;
                lrFactors = o.lrFactors;
                freeze = o.freeze;
                mixing = o.mixing;
                earlyStopping = o.earlyStopping;
                ema = o.ema;
                accumulate = o.accumulate;
                clipGradNorm = o.clipGradNorm;
            }

            Options options() {
                return new Options(
                        precision,
                        schedule,
                        epochs,
                        labelSmoothing,
                        seed,
                        monitor,
                        distributed,
                        channelsLast,
                        lrFactors,
                        freeze,
                        mixing,
                        earlyStopping,
                        ema,
                        accumulate,
                        clipGradNorm);
            }
        }
    }

    /**
     * Parameters held fixed during the first {@code epochs} epochs ({@link Integer#MAX_VALUE}: the whole run): they
     * get no gradient, so the optimizer leaves them as they are (no step, no weight decay, no momentum), and the
     * BatchNorm layers named in {@code norms} ({@code layer1.0.bn1}) run in evaluation mode, so that their running
     * statistics stay as they are and normalise their inputs, as when the network was trained.
     */
    public record Freeze(List<Tensor> tensors, Set<String> norms, int epochs) {
        public static final Freeze NONE = new Freeze(List.of(), Set.of(), 0);

        public Freeze {
            tensors = List.copyOf(tensors);
            norms = Set.copyOf(norms);
        }
    }

    private final Net net;
    private final Optimizer optimizer;
    private final Loader train;
    private final Loader val; // may be null
    private final Options options;
    private final List<TrainListener> listeners = new ArrayList<>();
    /** The parts whose state a checkpoint keeps, by key, in the order they were registered. */
    private final Map<String, Stateful> components = new LinkedHashMap<>();
    /** The checkpoint this trainer continues from, or null. */
    private Checkpoints.Loaded resumed;

    /** The next epoch to run (0-based) and the number of optimizer steps taken so far. */
    int epoch;

    long step;
    private volatile boolean stopRequested;
    private double currentLr;
    private final List<Tensor> params = new ArrayList<>();
    /** Float16 loss scaling (null unless the precision needs it). */
    private final LossScaler scaler;
    /** How far epoch {@link #epoch} has come (non-zero only when a run stopped mid-epoch, or while it runs). */
    private EpochProgress progress = EpochProgress.START;

    private int epochStartBatch;
    private Random mixRandom = new Random(0);
    private final ModelEma ema;
    private int pending; // micro-batches of the open accumulation group
    private double secondsBefore;
    /** System.nanoTime() when the current epoch began; earlier by the seconds it ran before a mid-epoch resume. */
    private long epochStart;

    /**
     * A trainer of {@code net} with {@code optimizer} on {@code train}, validated on {@code val} (may be null) at
     * each epoch's end. Converts the network to channels-last first if asked, then takes the average of its weights.
     * Long-lived: create outside any PointerScope.
     */
    public Trainer(Net net, Optimizer optimizer, Loader train, Loader val, Options options) {
        this.net = net;
        this.optimizer = optimizer;
        this.train = train;
        this.val = val;
        this.options = options;
        var vec = net.parameters();
        for (long i = 0; i < vec.size(); i++) params.add(new Tensor(vec.get(i)));
        this.scaler = options.precision().scalesLoss() ? new LossScaler(LossScaler.INITIAL_SCALE) : null;
        this.channelsLast = options.channelsLast();
        if (channelsLast) net.toChannelsLast();
        this.seed = options.seed();
        this.ema = options.ema() == null ? null : new ModelEma(net, options.ema()); // after the memory format
        register(
                new Stateful() { // the unfinished epoch's running sums (mid-epoch checkpoints only)
                    @Override
                    public String stateKey() {
                        return EpochProgress.KEY;
                    }

                    @Override
                    public Map<String, Object> state() {
                        return progress.midEpoch() ? progress.state() : null;
                    }

                    @Override
                    public void restore(Map<String, Object> s) {
                        progress = EpochProgress.of(progress.batch(), s);
                    }
                });
        register(options.schedule());
        if (scaler != null) register(scaler);
        if (options.earlyStopping() != null) register(options.earlyStopping());
        if (ema != null) register(ema);
    }

    private final boolean channelsLast;
    private final long seed;

    public Net net() {
        return net;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    /** The training data (null for a trainer only stepped by hand). */
    public Loader train() {
        return train;
    }

    /** The validation data, or null. */
    public Loader val() {
        return val;
    }

    public Options options() {
        return options;
    }

    public Precision precision() {
        return options.precision();
    }

    public Schedule schedule() {
        return options.schedule();
    }

    /** The epochs of the whole run. */
    public int epochs() {
        return options.epochs();
    }

    /** Float16 loss scaling, or null unless the precision needs it. */
    public LossScaler scaler() {
        return scaler;
    }

    /** Whether the frozen parameters are held fixed in epoch {@code e} (0-based). */
    public boolean frozenIn(int e) {
        return !options.freeze().tensors().isEmpty() && e < options.freeze().epochs();
    }

    /** Adds a listener; one that is {@link Stateful} is registered as a component too (see {@link #register}). */
    public Trainer listen(TrainListener l) {
        listeners.add(l);
        if (l instanceof Stateful s) register(s);
        return this;
    }

    /**
     * Adds {@code part} to the parts whose state every checkpoint keeps under its {@link Stateful#stateKey()},
     * and that {@link #restore} gives back (at once, to a part registered after the trainer was restored). The
     * trainer registers its own (the unfinished epoch's sums, the schedule, the loss scaler, early stopping, the
     * average of the weights) and every listener that is Stateful.
     */
    public void register(Stateful part) {
        if (components.putIfAbsent(part.stateKey(), part) != null)
            throw new IllegalArgumentException("two parts keep their state under '" + part.stateKey() + "'");
        if (resumed != null) Checkpoints.restore(resumed.path(), resumed.state(), List.of(part));
    }

    /** The registered stateful parts, in the order they were registered. */
    public List<Stateful> components() {
        return List.copyOf(components.values());
    }

    /** What a checkpoint taken now holds: where the run stands, {@code metric}, and each part's state and tensors. */
    public Checkpoints.Snapshot snapshot(double metric) {
        return Checkpoints.Snapshot.of(epoch, progress.batch(), step, metric, components.values());
    }

    /**
     * Continues from a loaded checkpoint: its epoch, step and mid-epoch position, and each registered part's saved
     * state (a part the checkpoint has none for stays as it is; one registered later is restored as it comes).
     * Returns the keys of the parts restored.
     */
    public List<String> restore(Checkpoints.Loaded loaded) {
        this.resumed = loaded;
        Checkpoints.State state = loaded.state();
        this.epoch = state.epoch();
        this.step = state.step();
        this.progress = new EpochProgress(state.batch(), 0, 0, 0, 0, 0);
        return Checkpoints.restore(loaded.path(), state, components.values());
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
        Mixing mixing = options.mixing();
        int accumulate = options.accumulate();
        Mixing.Mixed mixed =
                mixing == null ? null : mixing.apply(b.images(), b.size(), b.height(), b.width(), mixRandom);
        float[] images = mixed == null ? b.images() : mixed.images();
        return Scoped.call(() -> {
            Tensor dense = Tensors.fromFloats(images, b.size(), 3, b.height(), b.width());
            Tensor x = channelsLast ? dense.contiguous(torch.MemoryFormat.ChannelsLast) : dense;
            Tensor y = Tensors.fromLongs(b.labels());
            Tensor logits = options.precision().forward(() -> net.forward(x)).to(torch.ScalarType.Float);
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
            if (options.distributed() != null) options.distributed().averageGradients(params);
            if (scaler == null || scaler.unscale(params)) { // an overflowed fp16 step is skipped
                if (options.clipGradNorm() > 0)
                    torch.clip_grad_norm_(new TensorVector(params.toArray(new Tensor[0])), options.clipGradNorm());
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
        return options.labelSmoothing() > 0 ? smoothedLoss(logits, y) : torch.cross_entropy(logits, y);
    }

    /** Early stopping, or null. */
    public EarlyStopping earlyStopping() {
        return options.earlyStopping();
    }

    /** The average of the weights, or null. */
    public ModelEma ema() {
        return ema;
    }

    private Tensor smoothedLoss(Tensor logits, Tensor y) {
        double labelSmoothing = options.labelSmoothing();
        Tensor logp = torch.log_softmax(logits, 1);
        Tensor nll = torch.nll_loss(logp, y, new TensorOptional(), 1, -100);
        Tensor uniform = logp.mean(new long[] {1}, false, new ScalarTypeOptional())
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
        EarlyStopping earlyStopping = options.earlyStopping();
        while (epoch < epochs() && !stopRequested && (earlyStopping == null || earlyStopping.stoppedAfter() == 0)) {
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
        Freeze freeze = options.freeze();
        for (Tensor t : freeze.tensors()) t.set_requires_grad(epoch >= freeze.epochs());
        if (epoch < freeze.epochs()) Scoped.run(() -> net.evalOnly(freeze.norms()));
        int accumulate = options.accumulate();
        Iterator<Loader.Batch> it = train.epoch(epoch, Math.min(p.batch(), batches));
        while (it.hasNext()) {
            Loader.Batch batch = it.next();
            int b = p.batch();
            currentLr = options.schedule().lr(epoch + (double) b / batches);
            Optimizers.setLr(optimizer, currentLr, options.lrFactors);
            // dropout masks depend only on (seed, epoch, batch):
            // a resumed epoch, even one stopped mid-way, repeats exactly
            torch.manual_seed(seed * 1_000_003L + epoch * 100_003L + b);
            mixRandom = new Random(seed * 7_919L + epoch * 104_729L + b);
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
                TrainListener.BatchEnd end = new TrainListener.BatchEnd(
                        epoch, p.batch(), batches, p.lossSum() / p.seen(), p.correct() / p.seen());
                for (TrainListener l : listeners) l.onBatchEnd(this, end);
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
        if (options.distributed() != null)
            p = summedOverProcesses(p); // report the statistics of the whole batch, not this process's shard
        double trainLoss = p.lossSum() / Math.max(1, p.seen()), trainAcc = p.correct() / Math.max(1, p.seen());
        double valLoss = Double.NaN, valAcc = Double.NaN, valTop5 = Double.NaN;
        boolean validateModel = ema == null || options.ema().validateModel();
        if (val != null && val.size() > 0 && validateModel) {
            Predictions predictions = EvalLoop.run(net, val, options.precision(), this::validationBatch);
            Metrics m = Metrics.of(predictions, net.numClasses());
            valLoss = m.loss();
            valAcc = m.top1();
            valTop5 = m.top5();
        }
        double emaValLoss = Double.NaN, emaValAcc = Double.NaN;
        if (ema != null && val != null && val.size() > 0) {
            Metrics m = Metrics.of(
                    ema.withWeightsIn(() -> validateModel
                            ? EvalLoop.run(net, val, options.precision())
                            : EvalLoop.run(net, val, options.precision(), this::validationBatch)),
                    net.numClasses());
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
        options.schedule().epochEnd(epoch, options.monitor().of(stats));
        if (options.earlyStopping() != null)
            options.earlyStopping().update(stats); // before the listeners, so the checkpoint holds the decision
        epoch++;
        for (TrainListener l : listeners) l.onEpochEnd(this, stats);
    }

    private void validationBatch(int batch, int all) {
        for (TrainListener l : listeners) l.onValidationBatch(this, batch, all);
    }

    private EpochProgress summedOverProcesses(EpochProgress p) {
        double[] total = Scoped.call(() -> options.distributed().sum(p.lossSum(), p.correct(), p.seen()));
        return new EpochProgress(p.batch(), total[0], total[1], (int) Math.round(total[2]), p.skipped(), p.seconds());
    }
}
