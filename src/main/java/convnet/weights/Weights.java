package convnet.weights;

import convnet.UserException;
import convnet.model.Net;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** Reading weight files of either format, and loading them into a network by torchvision-style names. */
public final class Weights {
    private Weights() {}

    /** Reads a safetensors or torch.save file (told apart by content). Never executes anything from the file. */
    public static Map<String, Safetensors.Entry> read(Path file) {
        if (!Files.isRegularFile(file)) throw new UserException("weights file not found: " + file);
        byte[] head = new byte[2];
        try (InputStream in = Files.newInputStream(file)) {
            in.readNBytes(head, 0, 2);
        } catch (IOException e) {
            throw new UserException("cannot read weights file " + file + ": " + e.getMessage());
        }
        boolean torch = (head[0] == 'P' && head[1] == 'K') || (head[0] & 0xff) == 0x80;
        if (torch) return TorchFile.read(file);
        if (TorchFile.looksLikeTorch(file)) {
            throw new WeightsException(
                    file + ": not a PyTorch weights file (neither the zip nor the legacy pickle format)");
        }
        return Safetensors.read(file);
    }

    /**
     * The name prefix of a network's last layer with parameters ({@code classifier.6} for VGG,
     * {@code fc} for ResNet): what {@code dropHead} leaves out, so a new class count can be trained.
     */
    public static String headPrefix(Net net) {
        String last = null;
        var params = net.named_parameters(true);
        for (long i = 0; i < params.size(); i++) last = params.get(i).key().getString();
        if (last == null) throw new IllegalStateException("network without parameters");
        return last.substring(0, last.lastIndexOf('.'));
    }

    /**
     * Loads {@code file} into {@code net}; with {@code dropHead}, the file's and the network's last
     * layer are left out (the network keeps its fresh head). Returns the names loaded.
     */
    public static List<String> load(Path file, Net net, boolean dropHead) {
        Map<String, Safetensors.Entry> entries = read(file);
        Map<String, Tensor> into = StateDict.of(net);
        if (dropHead) {
            String head = headPrefix(net) + ".";
            into = new LinkedHashMap<>(into);
            into.keySet().removeIf(k -> k.startsWith(head));
            String fileHead = lastPrefix(entries.keySet());
            entries = new LinkedHashMap<>(entries);
            entries.keySet().removeIf(k -> k.startsWith(fileHead + "."));
        }
        StateDict.copyInto(file.toString(), entries, into);
        return List.copyOf(into.keySet());
    }

    private static String lastPrefix(java.util.Collection<String> names) {
        String last = null;
        for (String n : names) if (!n.endsWith("num_batches_tracked") && !n.contains("running_")) last = n;
        if (last == null) return "";
        return last.substring(0, last.lastIndexOf('.'));
    }
}
