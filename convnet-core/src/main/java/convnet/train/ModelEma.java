package convnet.train;

import convnet.engine.Scoped;
import convnet.model.Net;
import convnet.weights.StateDict;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * An exponential moving average of a network's weights (timm's {@code ModelEmaV2}): after every optimizer
 * step each float tensor moves to {@code d·ema + (1 − d)·w}; other tensors (counters) are copied. With
 * warm-up, {@code d = min(decay, (1 + n) / (10 + n))} after n updates, so early averages are not dominated by
 * the random start. Long-lived: created outside any PointerScope, by the {@link Trainer} once the network's memory
 * format is set. In a checkpoint: the averaged tensors as {@code ema.safetensors}, the update count in
 * {@code state.json}.
 */
public final class ModelEma implements Stateful {
    private final Map<String, Tensor> live, shadow = new LinkedHashMap<>();
    private final double decay;
    private final boolean warmup;
    private long updates;

    public ModelEma(Net net, double decay, boolean warmup) {
        this.live = StateDict.of(net);
        this.decay = decay;
        this.warmup = warmup;
        try (NoGradGuard g = new NoGradGuard()) {
            for (var e : live.entrySet())
                shadow.put(e.getKey(), e.getValue().detach().clone());
        }
    }

    /** The decay the next update uses. */
    double nextDecay() {
        return warmup ? Math.min(decay, (1.0 + updates + 1) / (10.0 + updates + 1)) : decay;
    }

    /** Moves the average toward the network's current weights. */
    void update() {
        double d = nextDecay();
        updates++;
        Scoped.run(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                for (var e : shadow.entrySet()) {
                    Tensor w = live.get(e.getKey()), avg = e.getValue();
                    if (torch.is_floating_point(w)) avg.mul_(new Scalar(d)).add_(w, new Scalar(1 - d));
                    else avg.copy_(w);
                }
            }
        });
    }

    /** The averaging: {@code decay}, with or without warm-up (see the class comment). */
    /**
     * @param validateModel whether each epoch also validates the model itself, not only its average (false: one
     *                      validation pass an epoch instead of two; the {@code val_*} figures are then NaN)
     */
    public record Spec(double decay, boolean warmup, boolean validateModel) {
        public Spec(double decay, boolean warmup) {
            this(decay, warmup, true);
        }
    }

    public ModelEma(Net net, Spec spec) {
        this(net, spec.decay(), spec.warmup());
    }

    /** The averaged tensors by name (live handles: for checkpoints). */
    @Override
    public Map<String, Tensor> tensors() {
        return shadow;
    }

    public long updates() {
        return updates;
    }

    @Override
    public String stateKey() {
        return "ema";
    }

    @Override
    public Map<String, Object> state() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("updates", updates);
        return s;
    }

    @Override
    public void restore(Map<String, Object> s) {
        updates = Stateful.integer(s, "updates");
    }

    /** Runs {@code work} with the averaged weights in the network, then puts the trained ones back. */
    public <T> T withWeightsIn(Supplier<T> work) {
        Map<String, Tensor> saved = new LinkedHashMap<>();
        try (NoGradGuard g = new NoGradGuard()) {
            for (var e : live.entrySet()) {
                saved.put(e.getKey(), e.getValue().clone());
                e.getValue().copy_(shadow.get(e.getKey()));
            }
        }
        try {
            return work.get();
        } finally {
            try (NoGradGuard g = new NoGradGuard()) {
                for (var e : live.entrySet()) e.getValue().copy_(saved.get(e.getKey()));
            }
            for (Tensor t : saved.values()) t.close();
        }
    }
}
