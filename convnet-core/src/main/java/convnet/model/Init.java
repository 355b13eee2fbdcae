package convnet.model;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Weight initialisation schemes. Convolutions: {@code kaiming} (normal, fan-out, ReLU gain —
 * torchvision's) or {@code xavier} (normal — the reference Caltech work's). Linear layers:
 * {@code normal} (N(0, 0.01) — torchvision's VGG), {@code xavier} or {@code kaiming}. Biases start at
 * 0, BatchNorm at weight 1 / bias 0 and PReLU at 0.25 (set when the layers are made).
 */
public final class Init {
    private Init() {}

    public static final String[] CONV = {"kaiming", "xavier"};
    public static final String[] LINEAR = {"normal", "xavier", "kaiming"};

    public static void apply(Net net, String conv, String linear) {
        if (Layers.making() != Layers.Making.NORMAL) return; // shapes only, or weights to be overwritten anyway
        try (NoGradGuard g = new NoGradGuard()) {
            StringTensorDict params = net.named_parameters(true);
            for (long i = 0; i < params.size(); i++) {
                String name = params.get(i).key().getString();
                Tensor w = params.get(i).value();
                if (!name.endsWith("weight")) continue;
                long dim = w.dim();
                if (dim == 4) {
                    long out = w.size(0), in = w.size(1), k = w.size(2) * w.size(3);
                    double std = switch (conv) {
                        case "kaiming" -> Math.sqrt(2.0 / (out * k));
                        case "xavier" -> Math.sqrt(2.0 / (in * k + out * k));
                        default -> throw new IllegalArgumentException("unknown conv init " + conv);
                    };
                    torch.normal_(w, 0, std);
                } else if (dim == 2) {
                    long out = w.size(0), in = w.size(1);
                    double std = switch (linear) {
                        case "normal" -> 0.01;
                        case "xavier" -> Math.sqrt(2.0 / (in + out));
                        case "kaiming" -> Math.sqrt(2.0 / in);
                        default -> throw new IllegalArgumentException("unknown linear init " + linear);
                    };
                    torch.normal_(w, 0, std);
                }
            }
        }
    }
}
