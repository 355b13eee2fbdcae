package convnet.bench;

import convnet.data.DecodedCache;
import convnet.data.ImageFolder;
import convnet.data.Loader;
import convnet.data.Sample;
import convnet.data.transform.Pipeline;
import convnet.data.transform.Transforms;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.engine.Scoped;
import convnet.engine.Tensors;
import convnet.model.ModelSpec;
import convnet.model.Models;
import convnet.model.Net;
import convnet.train.OptimizerConfig;
import convnet.train.Optimizers;
import convnet.train.Schedule;
import convnet.train.ScheduleConfig;
import convnet.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Measurements in one process: training steps on synthetic batches (per model, precision, memory
 * format), the loader on real JPEGs, and inference at batch 1 and 64. Each figure is the median of
 * several timed repeats after a warm-up, with the spread (min–max) beside it.
 */
public final class Bench {
    private Bench() {}

    /**
     * A benchmark model name → the convnet spec, with 10 classes: {@code vgg11bn32} and {@code resnet20} are the
     * names a PyTorch reference benchmark can use for the same layers; any other name is a convnet model name.
     */
    public static ModelSpec model(String name) {
        return switch (name) {
            case "vgg11bn32" -> Models.spec("vgg11_bn_gap", 10); // VGG-A-BN, 32 px: 1×1×512 → Linear(512, 10)
            case "resnet20" -> Models.spec("preact_resnet20_cifar", 10);
            default -> Models.spec(name, 10);
        };
    }

    /** The input side a benchmark model is measured at: 64 for names ending in 64, 224 for VGGs, else 32. */
    public static int inputSize(String name) {
        return name.endsWith("64") ? 64 : name.startsWith("vgg1") && !name.endsWith("32") ? 224 : 32;
    }

    public record Result(
            String what,
            String model,
            String precision,
            boolean channelsLast,
            int batch,
            double median,
            double min,
            double max,
            String unit) {}

    static double[] stats(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        double med = s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
        return new double[] {med, s.get(0), s.get(s.size() - 1)};
    }

    /** One fixed batch of Gaussian noise images with random labels of 10 classes. */
    public static Loader.Batch randomBatch(int batch, int size) {
        Random r = new Random(0);
        float[] x = new float[batch * 3 * size * size];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        long[] y = new long[batch];
        for (int i = 0; i < batch; i++) y[i] = r.nextInt(10);
        return new Loader.Batch(x, y, batch, size, size, 0);
    }

    /** A trainer of plain SGD at a constant rate, the simplest loop to compare with a PyTorch reference. */
    public static Trainer plainTrainer(Net net, Precision precision, boolean channelsLast) {
        OptimizerConfig o = new OptimizerConfig("sgd", 0.01, 0.9, false, 0, 0.9, 0.999);
        return new Trainer(
                net,
                Optimizers.create(o, net),
                null,
                null,
                Trainer.Options.of(precision, new Schedule(new ScheduleConfig.Constant(0), 0.01, 1), 1)
                        .withChannelsLast(channelsLast));
    }

    /** Training images/second on one fixed random batch. */
    public static Result train(
            String model, Precision precision, boolean channelsLast, int batch, int warmup, int steps, int repeats) {
        int size = inputSize(model);
        Net net = model(model).build(0);
        Trainer t = plainTrainer(net, precision, channelsLast);
        net.train(true);
        Loader.Batch b = randomBatch(batch, size);
        for (int i = 0; i < warmup; i++) t.step(b);
        List<Double> rates = new ArrayList<>();
        for (int k = 0; k < repeats; k++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) t.step(b);
            rates.add(batch * steps / ((System.nanoTime() - t0) / 1e9));
        }
        net.close();
        double[] s = stats(rates);
        return new Result("train", model, precision.word, channelsLast, batch, s[0], s[1], s[2], "img/s");
    }

    /**
     * Where a training step's time goes (a PyTorch reference can time the same phases): milliseconds per step for
     * zero-grad + forward + loss, backward, and the optimizer step (the engine is synchronous on CPU, so the
     * clock between the calls is the work). Medians over repeats.
     */
    public static List<Result> phases(
            String model, Precision precision, boolean channelsLast, int batch, int warmup, int steps, int repeats) {
        int size = inputSize(model);
        Net net = model(model).build(0);
        if (channelsLast) net.toChannelsLast();
        Optimizer opt = Optimizers.create(new OptimizerConfig("sgd", 0.01, 0.9, false, 0, 0.9, 0.999), net);
        net.train(true);
        Loader.Batch b = randomBatch(batch, size);
        float[] xs = b.images();
        long[] ys = b.labels();
        List<List<Double>> ms = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (int k = -1; k < repeats; k++) { // k = -1: warm-up
            double[] sum = new double[3];
            int n = k < 0 ? warmup : steps;
            for (int i = 0; i < n; i++) {
                Scoped.run(() -> {
                    Tensor dense = Tensors.fromFloats(xs, batch, 3, size, size);
                    Tensor x = channelsLast ? dense.contiguous(torch.MemoryFormat.ChannelsLast) : dense;
                    Tensor y = Tensors.fromLongs(ys);
                    long t0 = System.nanoTime();
                    opt.zero_grad();
                    Tensor loss = torch.cross_entropy(
                            precision.forward(() -> net.forward(x)).to(torch.ScalarType.Float), y);
                    long t1 = System.nanoTime();
                    loss.backward();
                    long t2 = System.nanoTime();
                    opt.step();
                    long t3 = System.nanoTime();
                    sum[0] += (t1 - t0) / 1e6;
                    sum[1] += (t2 - t1) / 1e6;
                    sum[2] += (t3 - t2) / 1e6;
                });
            }
            if (k >= 0) for (int p = 0; p < 3; p++) ms.get(p).add(sum[p] / steps);
        }
        net.close();
        List<Result> out = new ArrayList<>();
        String[] names = {"phase fwd+loss", "phase backward", "phase optimizer"};
        for (int p = 0; p < 3; p++) {
            double[] st = stats(ms.get(p));
            out.add(new Result(names[p], model, precision.word, channelsLast, batch, st[0], st[1], st[2], "ms/step"));
        }
        return out;
    }

    /** Inference images/second (eval mode, no grad) at a batch size. */
    public static Result predict(
            String model, Precision precision, boolean channelsLast, int batch, int warmup, int steps, int repeats) {
        int size = inputSize(model);
        Net net = model(model).build(0);
        if (channelsLast) net.toChannelsLast();
        net.eval();
        float[] x = new float[batch * 3 * size * size];
        Random r = new Random(0);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        Runnable step = () -> Scoped.run(() -> {
            try (NoGradGuard g = new NoGradGuard()) {
                Tensor in = Tensors.fromFloats(x, batch, 3, size, size);
                if (channelsLast) in = in.contiguous(torch.MemoryFormat.ChannelsLast);
                Tensor input = in;
                Tensors.toFloats(torch.softmax(
                        precision.forward(() -> net.forward(input)).to(torch.ScalarType.Float), 1));
            }
        });
        for (int i = 0; i < warmup; i++) step.run();
        List<Double> rates = new ArrayList<>();
        for (int k = 0; k < repeats; k++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) step.run();
            rates.add(batch * steps / ((System.nanoTime() - t0) / 1e9));
        }
        net.close();
        double[] s = stats(rates);
        return new Result("predict", model, precision.word, channelsLast, batch, s[0], s[1], s[2], "img/s");
    }

    /** Loader images/second on real files: the "cifar" (32 px) or "photo224" (224 px) recipe. */
    public static Result loader(Path root, String recipe, int workers, int batch, int batches, int repeats) {
        List<Sample> samples = ImageFolder.scan(root, null).samples;
        Pipeline p = recipe.equals("cifar")
                ? new Pipeline(
                        List.of(
                                new Transforms.RandomCrop(32, 4),
                                new Transforms.WithProbability(new Transforms.HorizontalFlip(), 0.5)),
                        32)
                : new Pipeline(
                        List.of(
                                new Transforms.RandomResizedCrop(224, 0.08, 1, 0.75, 4.0 / 3),
                                new Transforms.WithProbability(new Transforms.HorizontalFlip(), 0.5),
                                new Transforms.ShiftScaleRotate(0.0625, 0.1, 15)),
                        224);
        float[] m = {0.49f, 0.48f, 0.45f}, s = {0.25f, 0.24f, 0.26f};
        List<Double> rates = new ArrayList<>();
        try (Loader l =
                new Loader(samples, p, m, s, Loader.Options.training(batch, 0, workers, Loader.OnBadImage.ERROR))) {
            int perEpoch = l.batchesPerEpoch();
            for (int k = 0; k <= repeats; k++) {
                Iterator<Loader.Batch> it = l.epoch(k, 0);
                long t0 = System.nanoTime(), n = 0;
                for (int i = 0; i < Math.min(batches, perEpoch) && it.hasNext(); i++)
                    n += it.next().size();
                if (k > 0) rates.add(n / ((System.nanoTime() - t0) / 1e9)); // the first pass warms up
            }
        }
        double[] st = stats(rates);
        return new Result(
                "loader-" + recipe, root.getFileName().toString(), "-", false, batch, st[0], st[1], st[2], "img/s");
    }

    /** A whole training pipeline from JPEG files: the loader (cifar recipe) feeding training steps. */
    public static Result epoch(
            Path root, String model, boolean channelsLast, int workers, int batch, int batches, int warmup) {
        return epoch(root, model, channelsLast, workers, batch, batches, warmup, false);
    }

    /** With {@code cached}, one pass first fills a {@link DecodedCache}, and the steps are timed on the next epoch. */
    public static Result epoch(
            Path root,
            String model,
            boolean channelsLast,
            int workers,
            int batch,
            int batches,
            int warmup,
            boolean cached) {
        List<Sample> samples = ImageFolder.scan(root, null).samples;
        Pipeline p = new Pipeline(
                List.of(
                        new Transforms.RandomCrop(32, 4),
                        new Transforms.WithProbability(new Transforms.HorizontalFlip(), 0.5)),
                32);
        Net net = model(model).build(0);
        Trainer t = plainTrainer(net, Precision.FP32, channelsLast);
        net.train(true);
        double rate;
        try (Loader l = new Loader(
                samples,
                p,
                new float[] {0.49f, 0.48f, 0.45f},
                new float[] {0.25f, 0.24f, 0.26f},
                Loader.Options.training(batch, 0, workers, Loader.OnBadImage.ERROR))) {
            if (cached) {
                l.cache(new DecodedCache());
                for (Iterator<Loader.Batch> fill = l.epoch(0, 0); fill.hasNext(); ) fill.next();
            }
            Iterator<Loader.Batch> it = l.epoch(cached ? 1 : 0, 0);
            long t0 = 0, n = 0;
            for (int i = 0; i < warmup + batches && it.hasNext(); i++) {
                if (i == warmup) t0 = System.nanoTime();
                Loader.Batch b = it.next();
                t.step(b);
                if (i >= warmup) n += b.size();
            }
            rate = n / ((System.nanoTime() - t0) / 1e9);
        }
        net.close();
        return new Result(
                cached ? "epoch-jpeg-cached" : "epoch-jpeg",
                model,
                "32",
                channelsLast,
                batch,
                rate,
                rate,
                rate,
                "img/s");
    }

    /** Facts about the machine and engine settings the figures depend on. */
    public static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        String model = "?", flags = "";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name") && model.equals("?"))
                    model = line.substring(line.indexOf(':') + 1).trim();
                if (line.startsWith("flags") && flags.isEmpty())
                    flags = line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException ignored) {
            // not Linux: leave unknown
        }
        List<String> f = Arrays.asList(flags.split(" "));
        m.put("cpu", model);
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("avx2", f.contains("avx2"));
        m.put("avx512f", f.contains("avx512f"));
        m.put("avx512_bf16", f.contains("avx512_bf16"));
        m.put("amx_bf16", f.contains("amx_bf16"));
        m.put("engine", "libtorch 2.10.0 (org.bytedeco:pytorch:2.10.0-1.5.13)");
        m.put("compute_threads", Engine.threads());
        m.put("omp_wait_policy", System.getenv().getOrDefault("OMP_WAIT_POLICY", ""));
        m.put("java", System.getProperty("java.version"));
        return m;
    }

    public static long peakRssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", ""));
            }
        } catch (IOException ignored) {
            // not Linux
        }
        return -1;
    }
}
