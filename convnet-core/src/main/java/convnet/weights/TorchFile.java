package convnet.weights;

import convnet.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads {@code torch.save} state dicts — the zip format (PyTorch ≥ 1.6) and the legacy format
 * (torchvision's published ImageNet files) — through {@link Unpickler}, which executes nothing.
 */
public final class TorchFile {
    private TorchFile() {}

    static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);

    public static boolean looksLikeTorch(Path file) {
        String n = file.getFileName().toString().toLowerCase();
        return n.endsWith(".pth") || n.endsWith(".pt") || n.endsWith(".bin") || n.endsWith(".ckpt");
    }

    /** Every tensor of the file's state dict, by name, as little-endian bytes. */
    public static Map<String, Safetensors.Entry> read(Path file) {
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(file)) {
            if (in.readNBytes(head, 0, 4) < 2)
                throw new WeightsException(file + ": not a PyTorch weights file (too short)");
        } catch (IOException e) {
            throw new UserException("cannot read weights file " + file + ": " + e.getMessage());
        }
        if (head[0] == 'P' && head[1] == 'K') return readZip(file);
        if ((head[0] & 0xff) == 0x80) return readLegacy(file);
        throw new WeightsException(
                file + ": not a PyTorch weights file (neither the zip nor the legacy pickle format)");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Safetensors.Entry> readZip(Path file) {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry pkl = zip.stream()
                    .filter(e -> e.getName().endsWith("data.pkl"))
                    .findFirst()
                    .orElseThrow(
                            () -> new WeightsException(file + ": zip file without data.pkl — not a torch.save file"));
            String prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
            byte[] pickle = zip.getInputStream(pkl).readAllBytes();
            Object root = new Unpickler(pickle, 0, file.toString()).load();
            Map<String, Unpickler.TensorRef> refs = stateDict(root, file);
            Map<String, byte[]> storages = new LinkedHashMap<>();
            for (Unpickler.TensorRef r : refs.values()) {
                if (storages.containsKey(r.storage().key())) continue;
                ZipEntry e = zip.getEntry(prefix + "data/" + r.storage().key());
                if (e == null)
                    throw new WeightsException(
                            file + ": storage " + r.storage().key() + " is missing (truncated file?)");
                storages.put(r.storage().key(), zip.getInputStream(e).readAllBytes());
            }
            return materialise(refs, storages, file);
        } catch (ZipException e) {
            throw new WeightsException(file + ": damaged or truncated zip: " + e.getMessage());
        } catch (IOException e) {
            throw new WeightsException(file + ": cannot read: " + e.getMessage());
        }
    }

    private static Map<String, Safetensors.Entry> readLegacy(Path file) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UserException("cannot read weights file " + file + ": " + e.getMessage());
        }
        String src = file.toString();
        Unpickler magic = new Unpickler(all, 0, src);
        Object m = magic.load();
        if (!(m instanceof BigInteger b && b.equals(LEGACY_MAGIC)))
            throw new WeightsException(file + ": not a torch.save file (no magic number)");
        Unpickler version = new Unpickler(all, magic.position(), src);
        Object v = version.load();
        if (!(v instanceof Long l && l == 1001L))
            throw new WeightsException(file + ": unsupported legacy format version " + v);
        Unpickler sysInfo = new Unpickler(all, version.position(), src);
        sysInfo.load();
        Unpickler main = new Unpickler(all, sysInfo.position(), src);
        Map<String, Unpickler.TensorRef> refs = stateDict(main.load(), file);
        Unpickler keysPickle = new Unpickler(all, main.position(), src);
        Object keys = keysPickle.load();
        if (!(keys instanceof List<?> keyList)) throw new WeightsException(file + ": damaged storage list");
        Map<String, Integer> widthByKey = new LinkedHashMap<>();
        for (Unpickler.TensorRef r : refs.values())
            widthByKey.put(r.storage().key(), width(r.storage().dtype(), file));
        ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(keysPickle.position());
        Map<String, byte[]> storages = new LinkedHashMap<>();
        for (Object k : keyList) {
            String key = String.valueOf(k);
            if (buf.remaining() < 8) throw new WeightsException(file + ": truncated (storage " + key + " is missing)");
            long numel = buf.getLong();
            Integer w = widthByKey.get(key);
            if (w == null) throw new WeightsException(file + ": storage " + key + " is not used by any tensor");
            long n = numel * w;
            if (numel < 0 || n > buf.remaining())
                throw new WeightsException(file + ": truncated (storage " + key + " needs " + n + " bytes)");
            byte[] data = new byte[(int) n];
            buf.get(data);
            storages.put(key, data);
        }
        return materialise(refs, storages, file);
    }

    private static Map<String, Unpickler.TensorRef> stateDict(Object root, Path file) {
        if (root instanceof Map<?, ?> map
                && map.containsKey("state_dict")
                && map.get("state_dict") instanceof Map<?, ?> inner) root = inner;
        if (!(root instanceof Map<?, ?> map))
            throw new WeightsException(file + ": the file holds no state dict (a name → tensor mapping)");
        Map<String, Unpickler.TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (e.getValue() instanceof Unpickler.TensorRef t) out.put(String.valueOf(e.getKey()), t);
            else
                throw new WeightsException(
                        file + ": entry '" + e.getKey() + "' is not a tensor; expected a plain state dict");
        }
        return out;
    }

    static int width(String dtype, Path file) {
        return switch (dtype) {
            case "F32", "I32" -> 4;
            case "F64", "I64" -> 8;
            case "F16", "BF16", "I16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> throw new WeightsException(file + ": unsupported dtype " + dtype);
        };
    }

    private static boolean contiguous(Unpickler.TensorRef r) {
        long expected = 1;
        for (int d = r.size().length - 1; d >= 0; d--) {
            if (r.size()[d] != 1 && r.stride()[d] != expected) return false;
            expected *= r.size()[d];
        }
        return true;
    }

    /** Copies each tensor's elements (by size, stride and offset) out of its storage into contiguous bytes. */
    private static Map<String, Safetensors.Entry> materialise(
            Map<String, Unpickler.TensorRef> refs, Map<String, byte[]> storages, Path file) {
        Map<String, Safetensors.Entry> out = new LinkedHashMap<>();
        for (Map.Entry<String, Unpickler.TensorRef> e : refs.entrySet()) {
            Unpickler.TensorRef r = e.getValue();
            String dtype = r.storage().dtype();
            if (!List.of("F32", "F64", "F16", "BF16", "I64", "I32").contains(dtype)) {
                throw new WeightsException(
                        file + ": tensor '" + e.getKey() + "' has dtype " + dtype + ", which convnet does not load");
            }
            int w = width(dtype, file);
            byte[] storage = storages.get(r.storage().key());
            if (storage == null)
                throw new WeightsException(
                        file + ": tensor '" + e.getKey() + "' names a storage the file does not hold (damaged file)");
            long n = Safetensors.elements(file.toString(), e.getKey(), r.size(), w);
            byte[] data = new byte[(int) (n * w)];
            if (contiguous(r)) {
                if (r.offset() < 0 || (r.offset() + n) * w > storage.length) {
                    throw new WeightsException(
                            file + ": tensor '" + e.getKey() + "' reaches past its storage (damaged file)");
                }
                System.arraycopy(storage, (int) (r.offset() * w), data, 0, data.length);
                out.put(e.getKey(), new Safetensors.Entry(dtype, r.size(), data));
                continue;
            }
            long[] idx = new long[r.size().length];
            for (long i = 0; i < n; i++) {
                long at = r.offset();
                for (int d = 0; d < idx.length; d++) at += idx[d] * r.stride()[d];
                long from = at * w;
                if (from < 0 || from + w > storage.length) {
                    throw new WeightsException(
                            file + ": tensor '" + e.getKey() + "' reaches past its storage (damaged file)");
                }
                System.arraycopy(storage, (int) from, data, (int) (i * w), w);
                for (int d = idx.length - 1; d >= 0; d--) {
                    if (++idx[d] < r.size()[d]) break;
                    idx[d] = 0;
                }
            }
            out.put(e.getKey(), new Safetensors.Entry(dtype, r.size(), data));
        }
        return out;
    }
}
