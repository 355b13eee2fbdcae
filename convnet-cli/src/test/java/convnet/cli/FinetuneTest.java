package convnet.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.Cli;
import convnet.engine.Engine;
import convnet.model.Models;
import convnet.model.Net;
import convnet.weights.Safetensors;
import convnet.weights.StateDict;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convnet finetune} end to end on samples/flowers, with a stand-in for torchvision's resnet18: a random
 * resnet18 with 1000 classes that convnet writes itself (safetensors with torchvision's names, as {@code weights
 * export} writes them; the reader tells formats by content), put in the weights cache under torchvision's file name,
 * so that {@code --from torchvision:resnet18} finds it there and nothing is downloaded. The backbone measures the
 * mechanics, not accuracy.
 */
class FinetuneTest {
    @TempDir
    Path tmp;

    String oldHome, oldUrl;

    @BeforeEach
    void home() {
        oldHome = System.getProperty("convnet.home");
        oldUrl = System.getProperty("convnet.weights.url");
        System.setProperty("convnet.home", tmp.resolve("home").toString());
    }

    @AfterEach
    void restore() {
        restore("convnet.home", oldHome);
        restore("convnet.weights.url", oldUrl);
    }

    static void restore(String key, String value) {
        if (value == null) System.clearProperty(key);
        else System.setProperty(key, value);
    }

    @Test
    void oneCommandTrainsTheHeadThenEverythingAndTheRunWorksWithTheOtherCommands() throws Exception {
        Engine.start(2);
        Path backbone = tmp.resolve("home/weights/resnet18-f37072fd.pth");
        Files.createDirectories(backbone.getParent());
        Net random = Models.create("resnet18", 1000);
        Safetensors.write(backbone, StateDict.of(random), Map.of("format", "pt"));
        random.close();

        Path run = tmp.resolve("run");
        Cli.Out o = Cli.run(
                "finetune",
                "samples/flowers",
                "--from",
                "torchvision:resnet18",
                "--epochs",
                "2",
                "--size",
                "64",
                "--batch",
                "16",
                "--run",
                run.toString(),
                "--threads",
                "2");
        assertEquals(0, o.code(), o.stderr());
        assertFalse(o.stderr().contains("downloading"), "the cached stand-in is used: " + o.stderr());
        assertTrue(
                o.stderr()
                        .contains("backbone (60 parameter tensors, 20 BatchNorm layers with their statistics)"
                                + " frozen for the first 1 epoch"),
                o.stderr());
        assertTrue(o.stdout().matches("(?s).*validation top-1 [0-9.]+ with flips \\(80 images.*"), o.stdout());

        String config = Files.readString(run.resolve("config.yaml"));
        for (String line : List.of(
                "weights: torchvision:resnet18",
                "drop_head: true",
                "freeze: [backbone]",
                "freeze_epochs: 1",
                "backbone: 0.1",
                "label_smoothing: 0.1",
                "best_metric: ema_val_acc")) assertTrue(config.contains(line), line + " in\n" + config);
        assertEquals(3, Files.readAllLines(run.resolve("metrics.csv")).size(), "two epochs");

        // epoch 1 trained the head alone: the backbone (weights and BatchNorm statistics) is the file's, bit for bit
        Map<String, Safetensors.Entry> file = Safetensors.read(backbone);
        Map<String, Safetensors.Entry> first =
                Safetensors.read(run.resolve("checkpoints/epoch-0001/model.safetensors"));
        Map<String, Safetensors.Entry> second =
                Safetensors.read(run.resolve("checkpoints/epoch-0002/model.safetensors"));
        for (String name :
                List.of("conv1.weight", "layer3.1.conv2.weight", "bn1.running_mean", "layer4.1.bn2.running_var"))
            assertArrayEquals(file.get(name).data(), first.get(name).data(), name + " changed in the head's epoch");
        assertArrayEquals(new long[] {5, 512}, first.get("fc.weight").shape(), "a head for the folder's five classes");
        assertFalse(Arrays.equals(
                first.get("fc.weight").data(), second.get("fc.weight").data()));
        // epoch 2 trained everything
        assertFalse(Arrays.equals(
                file.get("layer3.1.conv2.weight").data(),
                second.get("layer3.1.conv2.weight").data()));
        assertFalse(Arrays.equals(
                file.get("layer4.1.bn2.running_var").data(),
                second.get("layer4.1.bn2.running_var").data()));

        // a normal run: test, predict and export work on it unchanged
        Cli.Out test = Cli.run("test", run.toString(), "--json", "--threads", "2");
        assertEquals(0, test.code(), test.stderr());
        assertEquals(
                80, new ObjectMapper().readTree(test.stdout()).path("images").asInt());
        Cli.Out predict = Cli.run("predict", run.toString(), "samples/predict", "--top-k", "2", "--threads", "2");
        assertEquals(0, predict.code(), predict.stderr());
        assertEquals(5, predict.stdout().lines().filter(l -> l.contains(".jpg")).count(), predict.stdout());
        Path onnx = tmp.resolve("ft.onnx");
        Cli.Out export = Cli.run("export", run.toString(), onnx.toString(), "--threads", "2");
        assertEquals(0, export.code(), export.stderr());
        assertTrue(Files.size(onnx) > 40_000_000, "resnet18's weights are in the graph");
    }

    @Test
    void offlineItFailsInOneLineNamingTheUrlAndWhereToPutTheFile() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        System.setProperty("convnet.weights.url", "http://127.0.0.1:" + port + "/");
        Path run = tmp.resolve("run");
        Cli.Out o = Cli.run("finetune", "samples/flowers", "--from", "torchvision:resnet34", "--run", run.toString());
        assertEquals(2, o.code(), o.stderr());
        List<String> errors =
                o.stderr().lines().filter(l -> l.startsWith("error:")).toList();
        assertEquals(1, errors.size(), o.stderr());
        String e = errors.get(0);
        assertTrue(e.contains("http://127.0.0.1:" + port + "/resnet34-b627a593.pth"), e);
        assertTrue(e.contains("put it at " + tmp.resolve("home/weights/resnet34-b627a593.pth")), e);
        assertFalse(Files.exists(run), "nothing written");
    }
}
