package convnet.cli;

import convnet.bundle.OnnxExport;
import convnet.engine.Engine;
import convnet.run.RunExport;
import java.nio.file.Path;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "export",
        mixinStandardHelpOptions = true,
        description = {
            "Write a run's model for use without convnet: --format onnx gives an ONNX model (opset 17, float32, input"
                    + " 'input' [batch, 3, S, S] at the bundle's image size S, output 'logits' [batch, classes]) whose"
                    + " metadata holds the class names, image size, mean/std, eval transforms, model name and convnet"
                    + " version; --format safetensors gives the weights alone with torchvision's names, as `convnet"
                    + " weights export`.",
        })
final class ExportCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Parameters(index = "0", paramLabel = "RUN", description = "A run directory (or a model bundle folder).")
    Path run;

    @Parameters(index = "1", paramLabel = "OUT", description = "The file to write: *.onnx or *.safetensors.")
    Path out;

    @Option(
            names = "--format",
            paramLabel = "onnx|safetensors",
            description = "What to write (default: from OUT's extension).")
    String format;

    @Option(
            names = "--checkpoint",
            paramLabel = "model|best|last|PATH",
            defaultValue = "model",
            description = "Weights to export: the model bundle (default), or a checkpoint.")
    String checkpoint;

    @Option(
            names = "--fold-bn",
            description = "ONNX: fold each BatchNorm that directly follows a convolution into that convolution's"
                    + " weights and bias (VGG with BatchNorm before the activation; the ImageNet stem; every BatchNorm"
                    + " inside a pre-activation unit but its first). A BatchNorm after an activation or a residual sum"
                    + " cannot be folded into the convolution before it and stays a BatchNormalization node (VGG with"
                    + " bn_position after_activation, e.g. vgg13_caltech; the first BatchNorm of each pre-activation"
                    + " unit, and the last one before the pool).")
    boolean foldBn;

    @Override
    public void run() {
        RunExport.Format f = RunExport.Format.of(format != null ? format : fromExtension(out));
        Engine.start(common.threads);
        RunExport.Result r = RunExport.export(run, out, new RunExport.Options(f, checkpoint, foldBn));
        String what = r.model() + ", " + r.classes().size() + " classes, weights: " + r.weights();
        if (r.graph() == null) {
            System.out.println("wrote " + out + ": " + what);
            return;
        }
        OnnxExport.Summary g = r.graph();
        System.out.println("wrote " + out + ": " + what + "; opset " + OnnxExport.OPSET + ", input "
                + shape(g.input()) + ", output " + shape(g.output()) + ", " + g.nodes() + " nodes ("
                + g.ops().entrySet().stream()
                        .map(e -> e.getKey() + " " + e.getValue())
                        .collect(Collectors.joining(", "))
                + ")" + (foldBn ? ", " + g.foldedBatchNorms() + " BatchNorms folded" : ""));
    }

    private static String fromExtension(Path out) {
        String name = out.getFileName() == null ? "" : out.getFileName().toString();
        for (RunExport.Format f : RunExport.Format.values()) if (name.endsWith(f.extension)) return f.id();
        throw new convnet.UserException(
                out + ": give --format onnx|safetensors, or name the file *.onnx or *.safetensors");
    }

    private static String shape(long[] s) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < s.length; i++) b.append(i > 0 ? ", " : "").append(s[i] < 0 ? OnnxExport.BATCH : s[i]);
        return b.append("]").toString();
    }
}
