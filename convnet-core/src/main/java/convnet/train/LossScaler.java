package convnet.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Dynamic loss scaling for float16 mixed precision, as PyTorch's GradScaler does it: the loss is
 * multiplied by {@code scale} before backward so small fp16 gradients do not flush to zero; the
 * gradients are divided by it before the step; a step whose gradients hold an inf or NaN is skipped
 * and the scale halved; after {@code growthInterval} good steps in a row the scale doubles. Its state
 * is part of the checkpoint. Call inside a PointerScope.
 */
public final class LossScaler implements Stateful {
    public static final double INITIAL_SCALE = 65536.0, GROWTH = 2.0, BACKOFF = 0.5;
    public static final int GROWTH_INTERVAL = 2000;

    private double scale;
    private int goodSteps;
    private long skipped;

    public LossScaler(double initialScale) {
        this.scale = initialScale;
    }

    public double scale() {
        return scale;
    }

    /** Steps skipped so far because their gradients overflowed. */
    public long skipped() {
        return skipped;
    }

    public Tensor scale(Tensor loss) {
        return loss.mul(new Scalar(scale));
    }

    /**
     * Divides each defined gradient by the scale; returns true when every gradient is finite (then the
     * optimizer may step). Updates the scale either way.
     */
    public boolean unscale(List<Tensor> params) {
        Scalar inv = new Scalar(1.0 / scale);
        boolean finite = true;
        for (Tensor p : params) {
            Tensor g = p.grad();
            if (g == null || !g.defined()) continue;
            g.mul_(inv);
            if (finite && !torch.isfinite(g).all().item_bool()) finite = false;
        }
        if (finite) {
            if (++goodSteps >= GROWTH_INTERVAL) {
                scale *= GROWTH;
                goodSteps = 0;
            }
        } else {
            scale *= BACKOFF;
            goodSteps = 0;
            skipped++;
        }
        return finite;
    }

    @Override
    public String stateKey() {
        return "loss_scaler";
    }

    /** The scale, the good steps in a row and the steps skipped. */
    @Override
    public Map<String, Object> state() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("scale", scale);
        s.put("good_steps", goodSteps);
        s.put("skipped", skipped);
        return s;
    }

    @Override
    public void restore(Map<String, Object> s) {
        scale = Stateful.number(s, "scale");
        goodSteps = (int) Stateful.integer(s, "good_steps");
        skipped = Stateful.integer(s, "skipped");
    }
}
