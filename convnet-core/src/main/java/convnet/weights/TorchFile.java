package convnet.weights;

import convnet.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads {@code torch.save} state dicts — the zip format (PyTorch ≥ 1.6) and the legacy format
 * (torchvision's published ImageNet files) — through {@link Unpickler}, which executes nothing.
 *
 * <p>What a file claims is checked against what it can hold before anything is allocated for it: a zip
 * entry's uncompressed size against the file's size (and is then read with that size as a hard cap), a
 * tensor's extent against its storage, the tensors' total against their storages'.
 */
public final class TorchFile {
    private TorchFile() {}

    static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);

    /**
     * How much larger than the file its zip entries may be, uncompressed, in total. torch.save stores its
     * entries uncompressed (1×); a file re-packed with deflate compresses float weights little, so 32× only
     * refuses what is no weights file — a zip bomb, or entries that claim sizes they do not hold.
     */
    static final int MAX_EXPANSION = 32;

    /**
     * How much larger than their storages the tensors may be, in total: a tensor is a view of its storage, and
     * only views that repeat elements (stride 0, or several tensors on one storage) make them larger at all.
     */
    static final int MAX_VIEW_FACTOR = 4;

    /** The largest file convnet reads whole into memory (a Java array's limit). */
    static final long MAX_FILE_BYTES = Safetensors.MAX_TENSOR_BYTES;

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

    /**
     * Checks a libtorch archive — what {@code OutputArchive.save_to} writes, such as a checkpoint's
     * {@code optimizer.pt} — before libtorch reads it: a zip whose entries claim no more than the file can hold,
     * and whose pickles nest at most {@value Unpickler#MAX_DEPTH} levels and make at most
     * {@link Unpickler#MAX_OBJECTS} objects. libtorch's reader trusts both: it allocates what an entry claims, and
     * a deeply nested pickle overflows the native stack, which kills the JVM. Nothing is interpreted beyond that
     * (the archive's TorchScript code is libtorch's to compile). Throws a {@link WeightsException} naming the file.
     */
    public static void checkArchive(Path file) {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipReader reader = new ZipReader(zip, file);
            for (ZipEntry e : Collections.list(zip.entries())) {
                if (e.getName().endsWith(".pkl")) Unpickler.scan(reader.read(e), file + ": " + Text.shown(e.getName()));
                else reader.claim(e);
            }
        } catch (ZipException e) {
            throw new WeightsException(file + ": not a libtorch archive, or a damaged one: " + e.getMessage());
        } catch (IOException e) {
            throw new WeightsException(file + ": cannot read: " + e.getMessage());
        }
    }

    private static Map<String, Safetensors.Entry> readZip(Path file) {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry pkl = zip.stream()
                    .filter(e -> e.getName().endsWith("data.pkl"))
                    .findFirst()
                    .orElseThrow(
                            () -> new WeightsException(file + ": zip file without data.pkl — not a torch.save file"));
            String prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
            ZipReader reader = new ZipReader(zip, file);
            byte[] pickle = reader.read(pkl);
            Object root = new Unpickler(pickle, 0, file.toString()).load();
            Map<String, Unpickler.TensorRef> refs = stateDict(root, file);
            Map<String, byte[]> storages = new LinkedHashMap<>();
            for (Unpickler.TensorRef r : refs.values()) {
                if (storages.containsKey(r.storage().key())) continue;
                ZipEntry e = zip.getEntry(prefix + "data/" + r.storage().key());
                if (e == null)
                    throw new WeightsException(
                            file + ": storage " + Text.shown(r.storage().key()) + " is missing (truncated file?)");
                storages.put(r.storage().key(), reader.read(e));
            }
            return materialise(refs, storages, file);
        } catch (ZipException e) {
            throw new WeightsException(file + ": damaged or truncated zip: " + e.getMessage());
        } catch (IOException e) {
            throw new WeightsException(file + ": cannot read: " + e.getMessage());
        }
    }

    /**
     * Reads a zip's entries, each no larger than the file allows: a stored entry's bytes are in the file, so it
     * can be no larger than the file; a deflated one no larger than {@link #MAX_EXPANSION} times the file; all of
     * them together, which catches entries that overlap, no more than that either. An entry is read with its
     * claimed size as a hard cap, so a header that understates its data does not get past the check.
     */
    static final class ZipReader {
        private final ZipFile zip;
        private final Path file;
        private final long fileSize;
        private long left;

        ZipReader(ZipFile zip, Path file) throws IOException {
            this.zip = zip;
            this.file = file;
            this.fileSize = Files.size(file);
            this.left = fileSize * MAX_EXPANSION;
        }

        private WeightsException tooLarge(ZipEntry e, long size, String allowedBy) {
            return new WeightsException(file + ": " + Text.shown(e.getName()) + " claims " + Text.bytes(size)
                    + " uncompressed, more than " + allowedBy);
        }

        /** The size {@code e} claims, checked against the file, without reading it. */
        long check(ZipEntry e) {
            long size = e.getSize();
            if (size < 0)
                throw new WeightsException(
                        file + ": damaged zip: " + Text.shown(e.getName()) + " does not say its size");
            boolean stored = e.getMethod() == ZipEntry.STORED;
            long allowed = stored ? fileSize : fileSize * MAX_EXPANSION;
            if (size > allowed) {
                throw tooLarge(
                        e,
                        size,
                        "the file's " + Text.bytes(fileSize) + " allows"
                                + (stored ? "" : " (" + MAX_EXPANSION + "× it for a compressed entry)"));
            }
            if (size > Safetensors.MAX_TENSOR_BYTES) throw tooLarge(e, size, "convnet reads from one entry (2 GiB)");
            if (size > left) {
                throw tooLarge(
                        e,
                        size,
                        "the file's " + Text.bytes(fileSize) + " allows with the entries read before it ("
                                + MAX_EXPANSION + "× it in all; entries that overlap?)");
            }
            return size;
        }

        /** Checks what {@code e} claims and counts it against the file, without reading it. */
        long claim(ZipEntry e) {
            long size = check(e);
            left -= size;
            return size;
        }

        /** The bytes of {@code e}, no more than it claims and the file allows. */
        byte[] read(ZipEntry e) throws IOException {
            long size = claim(e);
            try (InputStream in = zip.getInputStream(e)) {
                byte[] data = in.readNBytes((int) size);
                if (data.length < size)
                    throw new WeightsException(file + ": " + Text.shown(e.getName()) + " is truncated (" + data.length
                            + " of the " + size + " bytes it claims)");
                if (in.read() != -1)
                    throw new WeightsException(file + ": damaged zip: " + Text.shown(e.getName())
                            + " holds more data than the " + size + " bytes it claims");
                return data;
            }
        }
    }

    private static Map<String, Safetensors.Entry> readLegacy(Path file) {
        byte[] all;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES)
                throw new WeightsException(file + ": the file is " + Text.bytes(size)
                        + ", larger than convnet reads in the legacy format (2 GiB); save it again with torch.save"
                        + " (the zip format) or as safetensors");
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
            throw new WeightsException(file + ": unsupported legacy format version " + Text.shown(v));
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
            if (buf.remaining() < 8)
                throw new WeightsException(file + ": truncated (storage " + Text.shown(key) + " is missing)");
            long numel = buf.getLong();
            Integer w = widthByKey.get(key);
            if (w == null)
                throw new WeightsException(file + ": storage " + Text.shown(key) + " is not used by any tensor");
            if (numel < 0 || numel > buf.remaining() / w)
                throw new WeightsException(file + ": truncated (storage " + Text.shown(key) + " claims " + numel
                        + " elements of " + w + " bytes, " + buf.remaining() + " bytes are left)");
            byte[] data = new byte[(int) (numel * w)];
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
                        file + ": entry '" + Text.shown(e.getKey()) + "' is not a tensor; expected a plain state dict");
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

    /**
     * The index in its storage of a tensor's last element, or -1 if the tensor is empty; {@code Long.MAX_VALUE} if
     * a stride is negative or the sum overflows (what no storage holds).
     */
    static long lastIndex(Unpickler.TensorRef r) {
        try {
            long last = r.offset();
            for (int d = 0; d < r.size().length; d++) {
                if (r.size()[d] == 0) return -1;
                if (r.stride()[d] < 0) return Long.MAX_VALUE;
                last = Math.addExact(last, Math.multiplyExact(r.size()[d] - 1, r.stride()[d]));
            }
            return last;
        } catch (ArithmeticException overflow) {
            return Long.MAX_VALUE;
        }
    }

    /** Copies each tensor's elements (by size, stride and offset) out of its storage into contiguous bytes. */
    private static Map<String, Safetensors.Entry> materialise(
            Map<String, Unpickler.TensorRef> refs, Map<String, byte[]> storages, Path file) {
        long storageBytes = 0;
        for (byte[] s : storages.values()) storageBytes += s.length;
        long budget = Math.max(storageBytes, 1) * MAX_VIEW_FACTOR, used = 0;
        Map<String, Safetensors.Entry> out = new LinkedHashMap<>();
        for (Map.Entry<String, Unpickler.TensorRef> e : refs.entrySet()) {
            Unpickler.TensorRef r = e.getValue();
            String name = Text.shown(e.getKey());
            String dtype = r.storage().dtype();
            if (!List.of("F32", "F64", "F16", "BF16", "I64", "I32").contains(dtype)) {
                throw new WeightsException(
                        file + ": tensor '" + name + "' has dtype " + dtype + ", which convnet does not load");
            }
            int w = width(dtype, file);
            byte[] storage = storages.get(r.storage().key());
            if (storage == null)
                throw new WeightsException(
                        file + ": tensor '" + name + "' names a storage the file does not hold (damaged file)");
            long n = Safetensors.elements(file.toString(), name, r.size(), w);
            long last = lastIndex(r);
            if (r.offset() < 0 || last >= storage.length / w) {
                throw new WeightsException(file + ": tensor '" + name + "' reaches past its storage (damaged file)");
            }
            used += n * w;
            if (used > budget) {
                throw new WeightsException(file + ": the tensors up to '" + name + "' claim " + Text.bytes(used)
                        + ", more than " + MAX_VIEW_FACTOR + "× the " + Text.bytes(storageBytes)
                        + " their storages hold (damaged or hostile file)");
            }
            byte[] data = new byte[(int) (n * w)];
            if (n == 0) {
                out.put(e.getKey(), new Safetensors.Entry(dtype, r.size(), data));
                continue;
            }
            if (contiguous(r)) {
                System.arraycopy(storage, (int) (r.offset() * w), data, 0, data.length);
                out.put(e.getKey(), new Safetensors.Entry(dtype, r.size(), data));
                continue;
            }
            long[] idx = new long[r.size().length];
            for (long i = 0; i < n; i++) {
                long at = r.offset();
                for (int d = 0; d < idx.length; d++) at += idx[d] * r.stride()[d];
                System.arraycopy(storage, (int) (at * w), data, (int) (i * w), w);
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
