package convnet.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.Cli;
import convnet.OnnxRun;
import convnet.TinyRun;
import convnet.Version;
import convnet.bundle.ModelBundle;
import convnet.bundle.onnx.OnnxProto;
import convnet.model.Net;
import convnet.run.RunDir;
import convnet.train.Checkpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code convnet export} on a trained tiny run: ONNX Runtime against libtorch, metadata, folding, safetensors, errors. */
class ExportCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    static Path run;

    @BeforeAll
    static void trainedRun() throws Exception {
        run = TinyRun.train(dir, "x", 4).run();
    }

    static String oneLineError(Cli.Out o) {
        assertEquals(2, o.code(), o.stdout() + o.stderr());
        List<String> lines = o.stderr().lines().toList();
        assertEquals(1, lines.size(), o.stderr());
        assertTrue(lines.get(0).startsWith("error: "), o.stderr());
        return lines.get(0);
    }

    static long count(Path onnx, String op) throws Exception {
        return OnnxProto.ModelProto.parseFrom(Files.readAllBytes(onnx)).getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals(op))
                .count();
    }

    static double maxDiffAgainstLibtorch(Path onnx, Net net) throws Exception {
        float[] x = OnnxRun.normal(5, 3, 3, 32, 32);
        try (OrtSession s = OnnxRun.session(onnx)) {
            double d = OnnxRun.maxAbsDiff(OnnxRun.torch(net, x, 3, 3, 32, 32), OnnxRun.run(s, x, 3, 3, 32, 32));
            System.out.printf("onnx tiny run %s: max |Δlogit| %.2e%n", onnx.getFileName(), d);
            return d;
        }
    }

    @Test
    void onnxRunsInOnnxRuntimeAsInLibtorchAndCarriesWhatPreprocessingNeeds() throws Exception {
        Path out = dir.resolve("tiny.onnx");
        Cli.Out o = Cli.run("export", run.toString(), "--format", "onnx", out.toString(), "--threads", "2");
        assertEquals(0, o.code(), o.stderr());
        assertTrue(o.stdout().startsWith("wrote " + out + ": preact_resnet20_cifar, 2 classes"), o.stdout());
        assertTrue(o.stdout().contains("input [batch, 3, 32, 32], output [batch, 2]"), o.stdout());
        Path bundleDir = RunDir.bundleOf(run);
        ModelBundle bundle = ModelBundle.read(bundleDir);
        assertTrue(maxDiffAgainstLibtorch(out, bundle.loadNet(bundleDir)) <= 1e-4);

        JsonNode modelJson = JSON.readTree(bundleDir.resolve("model.json").toFile());
        try (OrtSession s = OnnxRun.session(out)) {
            Map<String, String> meta = s.getMetadata().getCustomMetadata();
            assertEquals(List.of("daisy", "rose"), JSON.readValue(meta.get("classes"), List.class));
            assertEquals(modelJson.get("classes"), JSON.readTree(meta.get("classes")));
            assertEquals(modelJson.get("eval_transforms"), JSON.readTree(meta.get("eval_transforms")));
            assertEquals(JSON.readTree("[0.5, 0.5, 0.5]"), JSON.readTree(meta.get("mean")));
            assertEquals(JSON.readTree("[0.2, 0.2, 0.2]"), JSON.readTree(meta.get("std")));
            assertEquals("32", meta.get("image_size"));
            assertEquals("preact_resnet20_cifar", meta.get("model"));
            assertEquals(modelJson.get("model"), JSON.readTree(meta.get("architecture")));
            assertEquals(Version.VERSION, meta.get("convnet_version"));
            assertEquals("model", meta.get("weights"));
            assertEquals("convnet", s.getMetadata().getProducerName());
        }
    }

    @Test
    void aCheckpointFoldedHasFewerBatchNormsAndTheSameLogits() throws Exception {
        Path plain = dir.resolve("last.onnx"), folded = dir.resolve("last-folded.onnx");
        assertEquals(
                0,
                Cli.run("export", run.toString(), plain.toString(), "--checkpoint", "last")
                        .code());
        Cli.Out o = Cli.run("export", run.toString(), folded.toString(), "--checkpoint", "last", "--fold-bn");
        assertEquals(0, o.code(), o.stderr());
        assertTrue(o.stdout().contains("9 BatchNorms folded"), o.stdout());
        assertEquals(19, count(plain, "BatchNormalization"));
        assertEquals(10, count(folded, "BatchNormalization"));
        Path bundleDir = RunDir.bundleOf(run);
        Net net = ModelBundle.read(bundleDir).loadNet(bundleDir);
        Checkpoints.load(new RunDir(run).checkpoints().find("last"), net, null);
        net.eval();
        assertTrue(maxDiffAgainstLibtorch(plain, net) <= 1e-4);
        assertTrue(maxDiffAgainstLibtorch(folded, net) <= 1e-4);
    }

    @Test
    void safetensorsIsWhatWeightsExportWrites() throws Exception {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        assertEquals(
                0,
                Cli.run("export", run.toString(), "--format", "safetensors", a.toString())
                        .code());
        assertEquals(
                0, Cli.run("weights", "export", run.toString(), b.toString()).code());
        assertArrayEquals(Files.readAllBytes(b), Files.readAllBytes(a));
    }

    @Test
    void userErrorsAreOneLineWithExitCode2() throws Exception {
        Path out = dir.resolve("bad.onnx");
        assertTrue(oneLineError(Cli.run("export", run.toString(), "--format", "tflite", out.toString()))
                .contains("unknown export format 'tflite' (known: onnx, safetensors)"));
        assertTrue(oneLineError(Cli.run("export", dir.resolve("no-such-run").toString(), out.toString()))
                .contains("no-such-run: no such run directory"));
        assertTrue(oneLineError(Cli.run(
                        "export",
                        run.toString(),
                        "--format",
                        "onnx",
                        dir.resolve("m.bin").toString()))
                .contains("name the file *.onnx"));
        assertTrue(oneLineError(
                        Cli.run("export", run.toString(), dir.resolve("m.bin").toString()))
                .contains("give --format"));
        assertTrue(oneLineError(Cli.run("export", run.toString(), out.toString(), "--checkpoint", "best-ever"))
                .contains("best-ever"));
        assertTrue(oneLineError(Cli.run(
                        "export", run.toString(), dir.resolve("w.safetensors").toString(), "--fold-bn"))
                .contains("onnx format only"));
        assertFalse(Files.exists(out));
        Cli.Out help = Cli.run("export", "--help");
        assertEquals(0, help.code());
        assertTrue(
                help.stdout().contains("--fold-bn")
                        && help.stdout().replaceAll("\\s+", " ").contains("stays a BatchNormalization"),
                help.stdout());
    }
}
