package convnet.cli;

import convnet.config.ConfigNode;
import convnet.engine.Engine;
import convnet.model.ModelSpec;
import convnet.model.Models;
import convnet.model.Net;
import convnet.run.RunExport;
import convnet.weights.Pretrained;
import convnet.weights.Safetensors;
import convnet.weights.StateDict;
import convnet.weights.Weights;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "weights",
        mixinStandardHelpOptions = true,
        description =
                "Inspect, convert, import and export weight files (torch.save .pth in zip or legacy format, safetensors). Nothing in a file is ever executed.",
        subcommands = {
            WeightsCommand.Inspect.class,
            WeightsCommand.Convert.class,
            WeightsCommand.Import.class,
            WeightsCommand.Export.class,
            WeightsCommand.Fetch.class
        })
final class WeightsCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.err);
    }

    @Command(
            name = "fetch",
            mixinStandardHelpOptions = true,
            description = {
                "Download torchvision's published ImageNet weights by name (vgg11, vgg13, vgg16, vgg19 and their _bn"
                        + " variants; resnet18, resnet34, resnet50 (torchvision's default, IMAGENET1K_V2),"
                        + " resnet50_v1) into the cache, check the SHA-256 prefix in the file name, print the path.",
                "Cache: $CONVNET_HOME/weights, else ~/.cache/convnet/weights. An interrupted download resumes."
                        + " Configs can name them as model.init.weights: torchvision:NAME."
            })
    static final class Fetch implements Runnable {
        @Mixin
        CommonOptions common;

        @Parameters(
                paramLabel = "NAME",
                description = "vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn, resnet18, resnet34,"
                        + " resnet50, resnet50_v1")
        String name;

        @Option(
                names = "--base-url",
                paramLabel = "URL",
                description = "Where to download from (default: $CONVNET_WEIGHTS_URL, else "
                        + Pretrained.DEFAULT_BASE_URL + ").")
        String baseUrl;

        @Override
        public void run() {
            String file = Pretrained.fileOf(name);
            URI base = baseUrl != null
                    ? URI.create(baseUrl.endsWith("/") ? baseUrl : baseUrl + "/")
                    : Pretrained.baseUrl();
            Path cache = Pretrained.cacheDir();
            boolean tty = System.console() != null;
            long[] last = {0};
            Path p = Pretrained.fetchFile(file, base, cache, bytes -> {
                if (tty && bytes - last[0] >= (8 << 20)) {
                    last[0] = bytes;
                    System.err.printf("\r%s: %,d MB", file, bytes >> 20);
                }
            });
            if (tty && last[0] > 0) System.err.println();
            System.out.println(p);
        }
    }

    @Command(
            name = "inspect",
            mixinStandardHelpOptions = true,
            description = "List the tensors of a weights file: name, dtype, shape.")
    static final class Inspect implements Runnable {
        @Mixin
        CommonOptions common;

        @Parameters(paramLabel = "FILE")
        Path file;

        @Override
        public void run() {
            Map<String, Safetensors.Entry> entries = Weights.read(file);
            long total = 0;
            for (Map.Entry<String, Safetensors.Entry> e : entries.entrySet()) {
                long n = Arrays.stream(e.getValue().shape()).reduce(1, (a, b) -> a * b);
                total += n;
                System.out.printf(
                        "%-48s %-5s %-22s %,14d%n",
                        e.getKey(),
                        e.getValue().dtype(),
                        Arrays.toString(e.getValue().shape()),
                        n);
            }
            System.out.printf("%d tensors, %,d values%n", entries.size(), total);
        }
    }

    @Command(
            name = "convert",
            mixinStandardHelpOptions = true,
            description = "Convert a weights file to safetensors (names unchanged).")
    static final class Convert implements Runnable {
        @Mixin
        CommonOptions common;

        @Parameters(index = "0", paramLabel = "IN")
        Path in;

        @Parameters(index = "1", paramLabel = "OUT.safetensors")
        Path out;

        @Override
        public void run() {
            Engine.start(common.threads);
            Map<String, Safetensors.Entry> entries = Weights.read(in);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, Safetensors.Entry> e : entries.entrySet())
                tensors.put(e.getKey(), Safetensors.toTensor(e.getValue()));
            Safetensors.write(out, tensors, Map.of("format", "pt"));
            System.out.println("wrote " + out + " (" + tensors.size() + " tensors)");
        }
    }

    @Command(
            name = "import",
            mixinStandardHelpOptions = true,
            description =
                    "Check that a torchvision-format file fits a convnet model (every name and shape) and write it as safetensors for init.weights.")
    static final class Import implements Runnable {
        @Mixin
        CommonOptions common;

        @Parameters(index = "0", paramLabel = "FILE")
        Path file;

        @Option(names = "--model", required = true, description = "Model name, e.g. vgg19.")
        String model;

        @Option(
                names = "--classes",
                defaultValue = "1000",
                description = "Classes of the file's head (default: ${DEFAULT-VALUE}).")
        int classes;

        @Option(names = "--out", required = true, paramLabel = "OUT.safetensors")
        Path out;

        @Option(
                names = "--options",
                paramLabel = "YAML",
                description = "Builder options, e.g. '{classifier_widths: [64, 64]}'.")
        String options;

        @Override
        public void run() {
            Engine.start(common.threads);
            var arch = Models.preset(model);
            if (options != null) arch = arch.withOverrides(ConfigNode.parse(options, "--options"));
            Net net = new ModelSpec(model, arch, classes, "kaiming", "normal").build(0);
            List<String> loaded = Weights.load(file, net, false);
            Safetensors.write(out, StateDict.of(net), Map.of("format", "pt", "model", model));
            System.out.println("imported " + loaded.size() + " tensors into " + model + "; wrote " + out);
        }
    }

    @Command(
            name = "export",
            mixinStandardHelpOptions = true,
            description =
                    "Write a run's model weights as safetensors with torchvision's names (load in Python with safetensors.torch.load_file).")
    static final class Export implements Runnable {
        @Mixin
        CommonOptions common;

        @Parameters(index = "0", paramLabel = "RUN")
        Path run;

        @Parameters(index = "1", paramLabel = "OUT.safetensors")
        Path out;

        @Override
        public void run() {
            Engine.start(common.threads);
            RunExport.Result r = RunExport.export(run, out, RunExport.Options.of(RunExport.Format.SAFETENSORS));
            System.out.println(
                    "wrote " + out + ": " + r.model() + ", " + r.classes().size() + " classes");
        }
    }
}
