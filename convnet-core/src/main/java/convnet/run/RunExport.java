package convnet.run;

import convnet.UserException;
import convnet.bundle.OnnxExport;
import convnet.eval.Evaluation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code convnet export} (and {@code convnet weights export}) as a Java call: a run's model, with the bundle's weights
 * or a checkpoint's, written as an ONNX graph or as safetensors weights.
 */
public final class RunExport {
    private RunExport() {}

    /** What to write: an ONNX model (graph, weights and metadata) or the weights alone as safetensors. */
    public enum Format {
        ONNX(".onnx"),
        SAFETENSORS(".safetensors");

        public final String extension;

        Format(String extension) {
            this.extension = extension;
        }

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Format of(String name) {
            for (Format f : values()) if (f.id().equals(name)) return f;
            throw new UserException("unknown export format '" + name + "' (known: onnx, safetensors)");
        }
    }

    /**
     * {@code weights}: {@code model} (the bundle's), {@code best}, {@code last} or a checkpoint path;
     * {@code foldBatchNorm}: fold BatchNorm into the preceding convolution where exact (ONNX only).
     */
    public record Options(Format format, String weights, boolean foldBatchNorm) {
        public static Options of(Format format) {
            return new Options(format, "model", false);
        }
    }

    /** What was written; {@code graph} is null for safetensors. */
    public record Result(
            Path out, Format format, String model, List<String> classes, String weights, OnnxExport.Summary graph) {}

    /** Exports {@code run} (a run directory, or a model bundle folder) to {@code out}, which is written atomically. */
    public static Result export(Path run, Path out, Options o) {
        if (out.getFileName() == null || !out.getFileName().toString().endsWith(o.format().extension))
            throw new UserException(
                    out + ": export writes " + o.format().id() + "; name the file *" + o.format().extension);
        if (o.foldBatchNorm() && o.format() != Format.ONNX)
            throw new UserException("folding BatchNorm applies to the onnx format only");
        if (!Files.isDirectory(run)) throw new UserException(run + ": no such run directory");
        Evaluation.Model m = TestRun.load(new RunDir(run), RunDir.bundleOf(run), o.weights(), false);
        OnnxExport.Summary graph = null;
        if (o.format() == Format.ONNX)
            graph = OnnxExport.write(out, m.net(), m.bundle(), o.weights(), o.foldBatchNorm());
        else m.bundle().exportSafetensors(out, m.net());
        return new Result(out, o.format(), m.bundle().spec().name(), m.bundle().classes(), o.weights(), graph);
    }
}
