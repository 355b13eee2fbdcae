package convnet.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Weight files written byte by byte, good and hostile: pickles opcode by opcode, zips header by header (so that a
 * header can claim what its data is not), safetensors with any header. Shared by the core and command-line tests.
 */
public final class HostileFiles {
    private HostileFiles() {}

    /** A pickle, opcode by opcode (protocol 2). */
    public static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        public Pickle() {
            op(0x80).op(2);
        }

        public Pickle op(int... bytes) {
            for (int b : bytes) out.write(b);
            return this;
        }

        public Pickle ops(char op, int times) {
            for (int i = 0; i < times; i++) out.write(op);
            return this;
        }

        private Pickle int32(int v) {
            return op(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
        }

        public Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X').int32(b.length);
            out.writeBytes(b);
            return this;
        }

        public Pickle integer(int v) {
            return op('J').int32(v);
        }

        public Pickle global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
            return this;
        }

        /** LONG_BINPUT: stores the top of the stack as memo {@code i}. */
        public Pickle put(int i) {
            return op('r').int32(i);
        }

        /** LONG_BINGET: pushes memo {@code i}. */
        public Pickle get(int i) {
            return op('j').int32(i);
        }

        /** An empty OrderedDict. */
        public Pickle orderedDict() {
            return global("collections", "OrderedDict").op(')', 'R');
        }

        /**
         * A float tensor of {@code size} with {@code stride} on storage {@code key} of {@code numel} floats, as
         * torch.save writes it ({@code legacy}: with the legacy format's sixth field of the persistent id).
         */
        public Pickle tensor(String key, long numel, long[] size, long[] stride, boolean legacy) {
            global("torch._utils", "_rebuild_tensor_v2").op('(');
            op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu");
            integer((int) numel);
            if (legacy) op('N');
            op('t', 'Q').integer(0);
            op('(');
            for (long s : size) integer((int) s);
            op('t', '(');
            for (long s : stride) integer((int) s);
            op('t', 0x89);
            return orderedDict().op('t', 'R');
        }

        public Pickle stop() {
            return op('.');
        }

        public byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** {@code ( ( ( ... N t t t ...)}: tuples nested {@code depth} deep through marks. */
    public static Pickle nestedByMarks(int depth) {
        return new Pickle().ops('(', depth).op('N').ops('t', depth).stop();
    }

    /** {@code N (N,) ((N,),) ...}: tuples nested {@code depth} deep without a single mark (TUPLE1). */
    public static Pickle nestedTuples(int depth) {
        Pickle p = new Pickle().op('N');
        for (int i = 0; i < depth; i++) p.op(0x85);
        return p.stop();
    }

    /**
     * Lists nested {@code depth} deep, built top-down through the memo: each list is put into its parent while
     * still empty, so counting depth as containers are built cannot see it. Leaves the outermost on the stack.
     */
    public static Pickle nestedTopDown(Pickle p, int depth) {
        p.op(']').put(0).op('0');
        for (int i = 1; i < depth; i++) p.op(']').put(i).op('0');
        for (int i = 1; i < depth; i++) p.get(i - 1).get(i).op('a', '0');
        return p.get(0);
    }

    /** A list that holds itself. */
    public static Pickle selfContaining(Pickle p) {
        return p.op(']').put(0).get(0).op('a');
    }

    /** The legacy format's first pickle: its magic number. */
    public static byte[] legacyMagic() {
        byte[] magic = new BigInteger("1950a86a20f9469cfc6c", 16).toByteArray();
        Pickle m = new Pickle().op(0x8a, magic.length);
        for (int i = magic.length - 1; i >= 0; i--) m.op(magic[i] & 0xff);
        return m.stop().bytes();
    }

    /** The legacy format's first three pickles: magic number, version 1001, system info. */
    public static byte[] legacyHead() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(legacyMagic());
        out.writeBytes(new Pickle().op('M', 0xe9, 0x03).stop().bytes());
        out.writeBytes(new Pickle().op('}').stop().bytes());
        return out.toByteArray();
    }

    /** A legacy-format file whose state dict pickle is {@code main} (nothing after it). */
    public static Path legacy(Path file, Pickle main) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(legacyHead());
        out.writeBytes(main.bytes());
        return Files.write(file, out.toByteArray());
    }

    /** A good legacy-format file: {@code w} = [1.5, -2.0]. */
    public static Path goodLegacy(Path file) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(legacyHead());
        out.writeBytes(new Pickle()
                .orderedDict()
                .str("w")
                .tensor("0", 2, new long[] {2}, new long[] {1}, true)
                .op('s')
                .stop()
                .bytes());
        out.writeBytes(new Pickle().op('(').str("0").op('l').stop().bytes());
        out.writeBytes(ByteBuffer.allocate(16)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(2)
                .putFloat(1.5f)
                .putFloat(-2f)
                .array());
        return Files.write(file, out.toByteArray());
    }

    /** The pickle of a state dict with {@code w} = 2 floats on storage 0. */
    public static byte[] twoFloatsPickle() {
        return new Pickle()
                .orderedDict()
                .str("w")
                .tensor("0", 2, new long[] {2}, new long[] {1}, false)
                .op('s')
                .stop()
                .bytes();
    }

    public static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    public static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    /** One zip entry: its name and data, stored or deflated, and the sizes its headers claim (-1: the true ones). */
    public record ZipItem(String name, byte[] data, boolean deflate, long claimedSize, long claimedCompressedSize) {
        public static ZipItem of(String name, byte[] data) {
            return new ZipItem(name, data, false, -1, -1);
        }

        public ZipItem claiming(long size) {
            return new ZipItem(name, data, deflate, size, claimedCompressedSize);
        }

        public ZipItem claimingCompressed(long size) {
            return new ZipItem(name, data, deflate, claimedSize, size);
        }

        public ZipItem deflated() {
            return new ZipItem(name, data, true, claimedSize, claimedCompressedSize);
        }
    }

    /**
     * A zip written header by header. A claimed size of 4 GiB or more is written as ZIP64 (0xFFFFFFFF in the
     * header, the size in a ZIP64 extra field). {@code extraCentral} are further central directory entries that
     * point at the local header of item {@code alias} (entries that overlap).
     */
    public static byte[] zip(List<ZipItem> items, List<String> extraCentral, int alias) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream central = new ByteArrayOutputStream();
        List<byte[]> centralRecords = new ArrayList<>();
        List<Long> offsets = new ArrayList<>();
        for (ZipItem it : items) {
            byte[] body = it.deflate ? deflate(it.data) : it.data;
            CRC32 crc = new CRC32();
            crc.update(it.data);
            long size = it.claimedSize >= 0 ? it.claimedSize : it.data.length;
            long csize = it.claimedCompressedSize >= 0 ? it.claimedCompressedSize : body.length;
            offsets.add((long) out.size());
            byte[] name = it.name.getBytes(StandardCharsets.UTF_8);
            byte[] extra = zip64Extra(size, csize, -1);
            ByteBuffer local = le(30 + name.length + extra.length);
            local.putInt(0x04034b50).putShort((short) 45).putShort((short) 0x0800);
            local.putShort((short) (it.deflate ? 8 : 0)).putInt(0).putInt((int) crc.getValue());
            local.putInt(small(csize)).putInt(small(size));
            local.putShort((short) name.length)
                    .putShort((short) extra.length)
                    .put(name)
                    .put(extra);
            out.writeBytes(local.array());
            out.writeBytes(body);
            centralRecords.add(
                    centralRecord(name, it.deflate, crc.getValue(), size, csize, offsets.get(offsets.size() - 1)));
        }
        for (String n : extraCentral) {
            ZipItem it = items.get(alias);
            byte[] body = it.deflate ? deflate(it.data) : it.data;
            CRC32 crc = new CRC32();
            crc.update(it.data);
            long size = it.claimedSize >= 0 ? it.claimedSize : it.data.length;
            long csize = it.claimedCompressedSize >= 0 ? it.claimedCompressedSize : body.length;
            centralRecords.add(centralRecord(
                    n.getBytes(StandardCharsets.UTF_8), it.deflate, crc.getValue(), size, csize, offsets.get(alias)));
        }
        long cenStart = out.size();
        for (byte[] r : centralRecords) central.writeBytes(r);
        out.writeBytes(central.toByteArray());
        ByteBuffer end = le(22);
        end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0);
        end.putShort((short) centralRecords.size()).putShort((short) centralRecords.size());
        end.putInt(central.size()).putInt((int) cenStart).putShort((short) 0);
        out.writeBytes(end.array());
        return out.toByteArray();
    }

    public static byte[] zip(ZipItem... items) {
        return zip(List.of(items), List.of(), 0);
    }

    private static byte[] centralRecord(byte[] name, boolean deflate, long crc, long size, long csize, long offset) {
        byte[] extra = zip64Extra(size, csize, offset);
        ByteBuffer c = le(46 + name.length + extra.length);
        c.putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0x0800);
        c.putShort((short) (deflate ? 8 : 0)).putInt(0).putInt((int) crc);
        c.putInt(small(csize)).putInt(small(size));
        c.putShort((short) name.length).putShort((short) extra.length).putShort((short) 0);
        c.putShort((short) 0).putShort((short) 0).putInt(0).putInt(small(offset));
        c.put(name).put(extra);
        return c.array();
    }

    /** The ZIP64 extra field for whichever of the values do not fit in 32 bits (in the order the format wants). */
    private static byte[] zip64Extra(long size, long csize, long offset) {
        List<Long> big = new ArrayList<>();
        if (size >= 0xffffffffL) big.add(size);
        if (csize >= 0xffffffffL) big.add(csize);
        if (offset >= 0xffffffffL) big.add(offset);
        if (big.isEmpty()) return new byte[0];
        ByteBuffer b = le(4 + 8 * big.size());
        b.putShort((short) 1).putShort((short) (8 * big.size()));
        for (long v : big) b.putLong(v);
        return b.array();
    }

    private static int small(long v) {
        return v >= 0xffffffffL ? -1 : (int) v;
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    public static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        while (!d.finished()) out.write(buf, 0, d.deflate(buf));
        d.end();
        return out.toByteArray();
    }

    /** A good zip-format file: {@code w} = [1.5, -2.0]; {@code pickle} and {@code storage} may be changed. */
    public static ZipItem[] goodZipItems() {
        return new ZipItem[] {
            ZipItem.of("archive/data.pkl", twoFloatsPickle()), ZipItem.of("archive/data/0", floats(1.5f, -2f))
        };
    }

    /** A zip-format file whose data.pkl claims {@code claimed} bytes uncompressed (it holds a few hundred). */
    public static Path zipClaiming(Path file, long claimed) throws IOException {
        ZipItem[] items = goodZipItems();
        items[0] = items[0].claiming(claimed);
        return Files.write(file, zip(items));
    }

    /** A safetensors file with {@code json} as its header (padded to 8 bytes) and {@code data} after it. */
    public static Path safetensors(Path file, String json, byte[] data) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) / 8 * 8;
        ByteBuffer b = le(8 + padded + data.length);
        b.putLong(padded).put(header);
        for (int i = header.length; i < padded; i++) b.put((byte) ' ');
        b.put(data);
        return Files.write(file, b.array());
    }
}
