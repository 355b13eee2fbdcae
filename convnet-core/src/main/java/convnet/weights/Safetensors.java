package convnet.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import convnet.UserException;
import convnet.engine.Tensors;
import convnet.io.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The safetensors format (a little-endian u64 header length, a JSON header of name → dtype, shape,
 * byte range, then raw data): plain data, nothing to execute, readable by Python's
 * {@code safetensors.torch.load_file}. Float tensors are stored as F32, integer ones as I64.
 */
public final class Safetensors {
    private Safetensors() {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    /** A tensor read from a file: its shape, dtype and raw little-endian bytes. */
    public record Entry(String dtype, long[] shape, byte[] data) {}

    /** Writes {@code tensors} to {@code file} atomically. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        Map<String, byte[]> blobs = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            // JavaCPP hands back a fresh enum object from native code: intern() makes == work
            torch.ScalarType type = t.scalar_type().intern();
            boolean integer = type == torch.ScalarType.Long || type == torch.ScalarType.Int;
            Tensor c = (integer ? t.to(torch.ScalarType.Long) : t.to(torch.ScalarType.Float)).contiguous();
            byte[] bytes = new byte[(int) (c.numel() * 8 / (integer ? 1 : 2))];
            new BytePointer(c.data_ptr()).get(bytes);
            ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", integer ? "I64" : "F32");
            var shape = info.putArray("shape");
            for (long d : Tensors.shape(t)) shape.add(d);
            var range = info.putArray("data_offsets");
            range.add(offset);
            range.add(offset + bytes.length);
            offset += bytes.length;
            blobs.put(e.getKey(), bytes);
        }
        byte[] head;
        try {
            head = JSON.writeValueAsBytes(header);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        int pad = (8 - head.length % 8) % 8;
        byte[] padded = new byte[head.length + pad];
        System.arraycopy(head, 0, padded, 0, head.length);
        for (int i = head.length; i < padded.length; i++) padded[i] = ' ';
        AtomicFiles.writeAtomically(file, out -> {
            ByteBuffer len =
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded.length);
            out.write(len.array());
            out.write(padded);
            for (byte[] b : blobs.values()) out.write(b);
        });
    }

    /**
     * Reads every tensor of a safetensors file, checking the header against the file's size: nothing the header
     * claims (its own length, a tensor's byte range) is allocated before it is found inside the file.
     */
    public static Map<String, Entry> read(Path file) {
        byte[] all;
        try {
            long size = Files.size(file);
            if (size > MAX_TENSOR_BYTES)
                throw new UserException(
                        file + ": the file is " + Text.bytes(size) + ", larger than convnet reads (2 GiB)");
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UserException("cannot read weights file " + file + ": " + e.getMessage());
        }
        if (all.length < 8)
            throw new UserException(file + ": not a safetensors file (shorter than its 8-byte header length)");
        long headerLen =
                ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > all.length) {
            throw new UserException(file + ": not a safetensors file, or truncated (header length " + headerLen
                    + ", file " + all.length + " bytes)");
        }
        JsonNode header;
        try {
            header = JSON.readTree(new String(all, 8, (int) headerLen, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) { // its getMessage() adds a second line
            String what = String.valueOf(e.getOriginalMessage())
                    .replaceAll("(?s)\\s*\\(?(start marker )?at \\[Source:.*", "");
            throw new UserException(file + ": damaged safetensors header: " + Text.shown(what));
        } catch (IOException e) {
            throw new UserException(file + ": damaged safetensors header: " + e.getMessage());
        }
        if (!header.isObject())
            throw new UserException(file + ": damaged safetensors header: not a JSON object of tensors");
        long dataStart = 8 + headerLen;
        Map<String, Entry> out = new LinkedHashMap<>();
        TreeMap<Long, long[]> ranges = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) continue;
            String name = Text.shown(e.getKey());
            JsonNode info = e.getValue();
            String dtype = info.path("dtype").asText();
            int width = switch (dtype) {
                case "F32", "I32" -> 4;
                case "I64", "F64" -> 8;
                case "F16", "BF16" -> 2;
                default ->
                    throw new UserException(
                            file + ": tensor '" + name + "' has unsupported dtype " + Text.shown(dtype));
            };
            JsonNode shapeNode = info.path("shape");
            if (!shapeNode.isArray())
                throw new UserException(file + ": tensor '" + name + "' has no shape (a list of sizes)");
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++)
                shape[i] = shapeNode.get(i).canConvertToExactIntegral()
                                && shapeNode.get(i).canConvertToLong()
                        ? shapeNode.get(i).asLong()
                        : -1;
            long n = elements(file.toString(), name, shape, width);
            JsonNode range = info.path("data_offsets");
            long from = range.path(0).canConvertToLong() ? range.path(0).asLong(-1) : -1,
                    to = range.path(1).canConvertToLong() ? range.path(1).asLong(-1) : -1;
            if (!range.isArray()
                    || range.size() != 2
                    || from < 0
                    || to < from
                    || to > all.length - dataStart
                    || to - from != n * width) {
                throw new UserException(file + ": tensor '" + name + "' has a bad byte range [" + from + ", " + to
                        + ") for " + n + " values of " + dtype + " in a file of " + all.length
                        + " bytes (file truncated?)");
            }
            ranges.put(from, new long[] {to});
            byte[] data = new byte[(int) (to - from)];
            System.arraycopy(all, (int) (dataStart + from), data, 0, data.length);
            out.put(e.getKey(), new Entry(dtype, shape, data));
        }
        long end = 0;
        for (var r :
                ranges.entrySet()) { // tensors may not share bytes: each starts where the one before ended, or later
            if (r.getKey() < end)
                throw new UserException(
                        file + ": damaged safetensors header: tensors' byte ranges overlap at byte " + r.getKey());
            end = Math.max(end, r.getValue()[0]);
        }
        return out;
    }

    /** The largest tensor convnet loads, in bytes (a Java array's limit). */
    static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE - 8;

    /**
     * The element count of {@code shape}, checked: every size at least 0, and the tensor no larger than
     * {@link #MAX_TENSOR_BYTES} at {@code width} bytes per element (a damaged or hostile file may claim anything).
     */
    public static long elements(String source, String name, long[] shape, int width) {
        long n = 1;
        for (long d : shape) {
            if (d < 0)
                throw new WeightsException(source + ": tensor '" + name + "' has a negative size "
                        + Arrays.toString(shape) + " (damaged file)");
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException overflow) {
                n = Long.MAX_VALUE;
            }
        }
        if (n > MAX_TENSOR_BYTES / width) {
            throw new WeightsException(source + ": tensor '" + name + "' claims " + Arrays.toString(shape)
                    + " = " + (n == Long.MAX_VALUE ? "over 2^63" : n)
                    + " elements, more than convnet loads (2 GiB per tensor)");
        }
        return n;
    }

    /** The tensor of an entry, as float32 or int64. */
    public static Tensor toTensor(Entry e) {
        ByteBuffer buf = ByteBuffer.wrap(e.data).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) Arrays.stream(e.shape).reduce(1, (a, b) -> a * b);
        switch (e.dtype) {
            case "I64", "I32" -> {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) v[i] = e.dtype.equals("I64") ? buf.getLong() : buf.getInt();
                return Tensors.fromLongs(v).reshape(e.shape);
            }
            default -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = switch (e.dtype) {
                        case "F32" -> buf.getFloat();
                        case "F64" -> (float) buf.getDouble();
                        case "BF16" -> Float.intBitsToFloat((buf.getShort() & 0xffff) << 16);
                        default -> halfToFloat(buf.getShort());
                    };
                }
                return Tensors.fromFloats(v, e.shape);
            }
        }
    }

    static float halfToFloat(short h) {
        int bits = h & 0xffff, sign = (bits & 0x8000) << 16, exp = (bits >> 10) & 0x1f, mant = bits & 0x3ff;
        if (exp == 0) return (sign != 0 ? -1 : 1) * mant * 0x1p-24f;
        if (exp == 31) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** Copies every tensor of {@code file} into the module's tensors of the same names; names and shapes must match. */
    public static void load(Path file, Map<String, Tensor> into) {
        Map<String, Entry> entries = read(file);
        StateDict.copyInto(file.toString(), entries, into);
    }
}
