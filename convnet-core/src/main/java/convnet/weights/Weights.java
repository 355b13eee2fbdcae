package convnet.weights;

import convnet.UserException;
import convnet.model.Net;
import convnet.model.ParamGroups;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** Reading weight files of either format, and loading them into a network by torchvision-style names. */
public final class Weights {
    private Weights() {}

    /** The formats a weights file can be in, told apart by content. */
    public enum Format {
        SAFETENSORS,
        TORCH_ZIP,
        TORCH_LEGACY,
        UNKNOWN
    }

    /**
     * The format of {@code head}, a file's first bytes (at least 9 of them, fewer for a short file), by checks
     * that cannot collide: safetensors is an 8-byte little-endian header length no larger than the rest of the
     * file followed by its JSON's '{'; a torch zip starts with the local-file magic {@code PK\3\4}; a legacy
     * pickle with the PROTO opcode 0x80 and a protocol number from 2 to 5.
     */
    public static Format sniff(byte[] head, int length, long fileSize) {
        if (length >= 9 && head[8] == '{') {
            long n = 0;
            for (int i = 7; i >= 0; i--) n = (n << 8) | (head[i] & 0xff);
            if (n >= 2 && n <= fileSize - 8) return Format.SAFETENSORS;
        }
        if (length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return Format.TORCH_ZIP;
        if (length >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) return Format.TORCH_LEGACY;
        return Format.UNKNOWN;
    }

    /** The format of {@code file}, by its content. */
    public static Format format(Path file) {
        if (!Files.isRegularFile(file)) throw new UserException("weights file not found: " + file);
        byte[] head = new byte[9];
        try (InputStream in = Files.newInputStream(file)) {
            return sniff(head, in.readNBytes(head, 0, head.length), Files.size(file));
        } catch (IOException e) {
            throw new UserException("cannot read weights file " + file + ": " + e.getMessage());
        }
    }

    /** Reads a safetensors or torch.save file (told apart by content). Never executes anything from the file. */
    public static Map<String, Safetensors.Entry> read(Path file) {
        return switch (format(file)) {
            case SAFETENSORS -> Safetensors.read(file);
            case TORCH_ZIP, TORCH_LEGACY -> TorchFile.read(file);
            case UNKNOWN -> {
                if (TorchFile.looksLikeTorch(file)) {
                    throw new WeightsException(
                            file + ": not a PyTorch weights file (neither the zip nor the legacy pickle format)");
                }
                yield Safetensors.read(file); // says what is wrong with it as a safetensors file
            }
        };
    }

    /**
     * The name prefix of a network's last layer with parameters ({@code classifier.6} for VGG,
     * {@code fc} for ResNet): what {@code dropHead} leaves out, so a new class count can be trained.
     */
    public static String headPrefix(Net net) {
        return ParamGroups.headPrefix(net);
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

    private static String lastPrefix(Collection<String> names) {
        String last = null;
        for (String n : names) if (!n.endsWith("num_batches_tracked") && !n.contains("running_")) last = n;
        if (last == null) return "";
        return last.substring(0, last.lastIndexOf('.'));
    }
}
