package convnet.data.transform;

import convnet.config.ConfigNode;
import convnet.data.Images;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * An ordered list of ops read from the config, ending in a fixed {@code size × size} image that is
 * normalised by mean and std into channel-first floats.
 */
public final class Pipeline {
    public static final List<String> OPS = List.of(
            "resize",
            "scale_jitter",
            "center_crop",
            "random_crop",
            "random_resized_crop",
            "hflip",
            "shift_scale_rotate",
            "brightness_contrast",
            "equalize",
            "one_of");

    public final List<Transform> ops;
    public final int size;

    public Pipeline(List<Transform> ops, int size) {
        this.ops = List.copyOf(ops);
        this.size = size;
    }

    /** Runs the ops and writes {@code 3 × size × size} normalised floats into {@code out} at {@code offset}. */
    public void run(Mat img, Random rng, float[] mean, float[] std, float[] out, int offset) {
        for (Transform t : ops) img = t.apply(img, rng);
        if (img.cols() != size || img.rows() != size) img = Ops.resizeTo(img, size, size);
        Images.toChw(img, mean, std, out, offset);
    }

    public List<Map<String, Object>> toList() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Transform t : ops) out.add(t.toMap());
        return out;
    }

    /** Reads a list of ops such as {@code [{op: random_crop, size: 32, padding: 4}, {op: hflip, p: 0.5}]}. */
    public static Pipeline fromConfig(ConfigNode list, int size) {
        List<Transform> ops = new ArrayList<>();
        for (ConfigNode item : list.asList()) ops.add(op(item));
        return new Pipeline(ops, size);
    }

    static Transform op(ConfigNode n) {
        if (!n.isMapping() || !n.has("op"))
            throw n.error("expected an op such as {op: hflip, p: 0.5} (ops: " + String.join(", ", OPS) + ")");
        String op = n.get("op").asChoice(OPS);
        Transform t = switch (op) {
            case "resize" -> {
                n.requireOnly("op", "p", "size", "height", "width");
                if (n.has("size")) yield new Ops.Resize(n.integer("size", 0, 1, 1 << 15), 0, 0);
                if (!n.has("height") || !n.has("width"))
                    throw n.error("resize needs 'size' (shorter side) or 'height' and 'width'");
                yield new Ops.Resize(0, n.integer("height", 0, 1, 1 << 15), n.integer("width", 0, 1, 1 << 15));
            }
            case "scale_jitter" -> {
                n.requireOnly("op", "p", "min", "max");
                int min = n.integer("min", 256, 1, 1 << 15), max = n.integer("max", 512, min, 1 << 15);
                yield new Ops.ScaleJitter(min, max);
            }
            case "center_crop" -> {
                n.requireOnly("op", "p", "size");
                yield new Ops.CenterCrop(required(n, "size"));
            }
            case "random_crop" -> {
                n.requireOnly("op", "p", "size", "padding");
                yield new Ops.RandomCrop(required(n, "size"), n.integer("padding", 0, 0, 1 << 12));
            }
            case "random_resized_crop" -> {
                n.requireOnly("op", "p", "size", "scale", "ratio");
                double[] scale = n.numbers("scale", new double[] {0.08, 1.0}, 0.0001, 1);
                double[] ratio = n.numbers("ratio", new double[] {3.0 / 4, 4.0 / 3}, 0.01, 100);
                if (scale.length != 2 || scale[0] > scale[1])
                    throw n.get("scale").error("expected [min, max] with min <= max");
                if (ratio.length != 2 || ratio[0] > ratio[1])
                    throw n.get("ratio").error("expected [min, max] with min <= max");
                yield new Ops.RandomResizedCrop(required(n, "size"), scale[0], scale[1], ratio[0], ratio[1]);
            }
            case "hflip" -> {
                n.requireOnly("op", "p");
                yield new Ops.HorizontalFlip();
            }
            case "shift_scale_rotate" -> {
                n.requireOnly("op", "p", "shift", "scale", "rotate");
                yield new Ops.ShiftScaleRotate(
                        n.number("shift", 0.0625, 0, 1),
                        n.number("scale", 0.1, 0, 0.99),
                        n.number("rotate", 45, 0, 180));
            }
            case "brightness_contrast" -> {
                n.requireOnly("op", "p", "brightness", "contrast");
                yield new Ops.BrightnessContrast(n.number("brightness", 0.2, 0, 1), n.number("contrast", 0.2, 0, 1));
            }
            case "equalize" -> {
                n.requireOnly("op", "p");
                yield new Ops.Equalize();
            }
            case "one_of" -> {
                n.requireOnly("op", "p", "ops");
                List<Transform> inner = new ArrayList<>();
                for (ConfigNode c : n.get("ops").asList()) inner.add(op(c));
                if (inner.isEmpty()) throw n.get("ops").error("expected at least one op");
                yield new Ops.OneOf(inner);
            }
            default -> throw n.error("unknown op " + op);
        };
        double defaultP = op.equals("hflip") ? 0.5 : 1.0;
        double p = n.number("p", defaultP, 0, 1);
        return p < 1 || op.equals("hflip") ? new Ops.WithProbability(t, p) : t;
    }

    private static int required(ConfigNode n, String key) {
        if (!n.has(key)) throw n.error("'" + key + "' is required for op " + n.string("op", "?"));
        return n.integer(key, 0, 1, 1 << 15);
    }
}
