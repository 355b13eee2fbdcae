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
            "rand_augment",
            "trivial_augment_wide",
            "one_of",
            "random_erasing");

    public final List<Transform> ops;
    /** What runs on the normalised floats after the pixel ops (random erasing). */
    public final List<RandomErasing> erasing;

    public final int size;

    public Pipeline(List<Transform> ops, int size) {
        this(ops, List.of(), size);
    }

    public Pipeline(List<Transform> ops, List<RandomErasing> erasing, int size) {
        this.ops = List.copyOf(ops);
        this.erasing = List.copyOf(erasing);
        this.size = size;
    }

    /** Runs the ops and writes {@code 3 × size × size} normalised floats into {@code out} at {@code offset}. */
    public void run(Mat img, Random rng, float[] mean, float[] std, float[] out, int offset) {
        for (Transform t : ops) img = t.apply(img, rng);
        if (img.cols() != size || img.rows() != size) img = Transforms.resizeTo(img, size, size);
        Images.toChw(img, mean, std, out, offset);
        for (RandomErasing e : erasing) e.apply(out, offset, size, rng);
    }

    public List<Map<String, Object>> toList() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Transform t : ops) out.add(t.toMap());
        for (RandomErasing e : erasing) out.add(e.toMap());
        return out;
    }

    /** Reads a list of ops such as {@code [{op: random_crop, size: 32, padding: 4}, {op: hflip, p: 0.5}]}. */
    public static Pipeline fromConfig(ConfigNode list, int size) {
        List<Transform> ops = new ArrayList<>();
        List<RandomErasing> erasing = new ArrayList<>();
        for (ConfigNode item : list.asList()) {
            if (item.isMapping() && item.has("op") && "random_erasing".equals(item.string("op", ""))) {
                erasing.add(erasing(item));
                continue;
            }
            if (!erasing.isEmpty())
                throw item.error("random_erasing works on the normalised image, so it must come after every other op");
            ops.add(op(item));
        }
        return new Pipeline(ops, erasing, size);
    }

    static RandomErasing erasing(ConfigNode n) {
        n.requireOnly("op", "p", "scale", "ratio", "value");
        double[] scale = pair(n, "scale", new double[] {0.02, 0.33}, 0.0001, 1);
        double[] ratio = pair(n, "ratio", new double[] {0.3, 3.3}, 0.01, 100);
        String value = n.choice("value", "zero", "zero", "random");
        return new RandomErasing(
                n.number("p", 0.5, 0, 1), scale[0], scale[1], ratio[0], ratio[1], value.equals("random"));
    }

    private static double[] pair(ConfigNode n, String key, double[] def, double min, double max) {
        double[] v = n.numbers(key, def, min, max);
        if (v.length != 2 || v[0] > v[1]) throw n.get(key).error("expected [min, max] with min <= max");
        return v;
    }

    static Transform op(ConfigNode n) {
        if (!n.isMapping() || !n.has("op"))
            throw n.error("expected an op such as {op: hflip, p: 0.5} (ops: " + String.join(", ", OPS) + ")");
        String op = n.get("op").asChoice(OPS);
        Transform t = switch (op) {
            case "resize", "scale_jitter" -> sizing(n, op);
            case "center_crop", "random_crop", "random_resized_crop" -> crop(n, op);
            case "hflip", "shift_scale_rotate" -> geometry(n, op);
            case "brightness_contrast", "equalize" -> colour(n, op);
            case "rand_augment", "trivial_augment_wide" -> policy(n, op);
            case "random_erasing" -> throw n.error("random_erasing cannot be inside one_of; list it last");
            case "one_of" -> oneOf(n);
            default -> throw n.error("unknown op " + op);
        };
        double defaultP = op.equals("hflip") ? 0.5 : 1.0;
        double p = n.number("p", defaultP, 0, 1);
        return p < 1 || op.equals("hflip") ? new Transforms.WithProbability(t, p) : t;
    }

    /** resize (shorter side, or height and width) and scale_jitter (shorter side drawn from [min, max]). */
    private static Transform sizing(ConfigNode n, String op) {
        if (op.equals("scale_jitter")) {
            n.requireOnly("op", "p", "min", "max");
            int min = n.integer("min", 256, 1, 1 << 15), max = n.integer("max", 512, min, 1 << 15);
            return new Transforms.ScaleJitter(min, max);
        }
        n.requireOnly("op", "p", "size", "height", "width");
        if (n.has("size")) return new Transforms.Resize(n.integer("size", 0, 1, 1 << 15), 0, 0);
        if (!n.has("height") || !n.has("width"))
            throw n.error("resize needs 'size' (shorter side) or 'height' and 'width'");
        return new Transforms.Resize(0, n.integer("height", 0, 1, 1 << 15), n.integer("width", 0, 1, 1 << 15));
    }

    /** center_crop, random_crop (with padding) and random_resized_crop (area scale and aspect ratio ranges). */
    private static Transform crop(ConfigNode n, String op) {
        return switch (op) {
            case "center_crop" -> {
                n.requireOnly("op", "p", "size");
                yield new Transforms.CenterCrop(required(n, "size"));
            }
            case "random_crop" -> {
                n.requireOnly("op", "p", "size", "padding");
                yield new Transforms.RandomCrop(required(n, "size"), n.integer("padding", 0, 0, 1 << 12));
            }
            case "random_resized_crop" -> {
                n.requireOnly("op", "p", "size", "scale", "ratio");
                double[] scale = pair(n, "scale", new double[] {0.08, 1.0}, 0.0001, 1);
                double[] ratio = pair(n, "ratio", new double[] {3.0 / 4, 4.0 / 3}, 0.01, 100);
                yield new Transforms.RandomResizedCrop(required(n, "size"), scale[0], scale[1], ratio[0], ratio[1]);
            }
            default -> throw new IllegalArgumentException("not a crop: " + op);
        };
    }

    /** hflip and shift_scale_rotate: moves that keep the image's size. */
    private static Transform geometry(ConfigNode n, String op) {
        if (op.equals("hflip")) {
            n.requireOnly("op", "p");
            return new Transforms.HorizontalFlip();
        }
        n.requireOnly("op", "p", "shift", "scale", "rotate");
        return new Transforms.ShiftScaleRotate(
                n.number("shift", 0.0625, 0, 1), n.number("scale", 0.1, 0, 0.99), n.number("rotate", 45, 0, 180));
    }

    /** brightness_contrast and equalize: the pixel values, not their places. */
    private static Transform colour(ConfigNode n, String op) {
        if (op.equals("equalize")) {
            n.requireOnly("op", "p");
            return new Transforms.Equalize();
        }
        n.requireOnly("op", "p", "brightness", "contrast");
        return new Transforms.BrightnessContrast(n.number("brightness", 0.2, 0, 1), n.number("contrast", 0.2, 0, 1));
    }

    /** rand_augment and trivial_augment_wide: the automatic augmentation policies. */
    private static Transform policy(ConfigNode n, String op) {
        if (op.equals("trivial_augment_wide")) {
            n.requireOnly("op", "p");
            return new AutoAugment.TrivialAugmentWide();
        }
        n.requireOnly("op", "p", "n", "m");
        return new AutoAugment.RandAugment(n.integer("n", 2, 1, 10), n.integer("m", 9, 0, AutoAugment.BINS - 1));
    }

    /** one_of: one of its inner ops, drawn each time. */
    private static Transform oneOf(ConfigNode n) {
        n.requireOnly("op", "p", "ops");
        List<Transform> inner = new ArrayList<>();
        for (ConfigNode c : n.get("ops").asList()) inner.add(op(c));
        if (inner.isEmpty()) throw n.get("ops").error("expected at least one op");
        return new Transforms.OneOf(inner);
    }

    private static int required(ConfigNode n, String key) {
        if (!n.has(key)) throw n.error("'" + key + "' is required for op " + n.string("op", "?"));
        return n.integer(key, 0, 1, 1 << 15);
    }
}
