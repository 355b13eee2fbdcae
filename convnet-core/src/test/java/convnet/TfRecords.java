package convnet;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An independent reader of TensorBoard event files for tests: checks the TFRecord framing and both
 * masked CRC-32C sums of every record (a bitwise CRC-32C written here, not the JDK's), and decodes
 * each Event with {@code protoc --decode_raw}.
 */
public final class TfRecords {
    private TfRecords() {}

    static int crc32c(byte[] data) {
        int crc = 0xFFFFFFFF;
        for (byte b : data) {
            crc ^= b & 0xff;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F63B78 : crc >>> 1;
        }
        return ~crc;
    }

    static int mask(int crc) {
        return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
    }

    /** The data of each record, after checking its two CRCs. */
    public static List<byte[]> read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> out = new ArrayList<>();
        while (b.hasRemaining()) {
            byte[] len = new byte[8];
            b.get(len);
            int lenCrc = b.getInt();
            if (lenCrc != mask(crc32c(len))) throw new IOException("bad length CRC at record " + out.size());
            long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] data = new byte[(int) n];
            b.get(data);
            if (b.getInt() != mask(crc32c(data))) throw new IOException("bad data CRC at record " + out.size());
            out.add(data);
        }
        return out;
    }

    /** protoc's raw decoding of one record (field numbers and values as text). */
    public static String decodeRaw(byte[] data) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("protoc", "--decode_raw")
                .redirectErrorStream(true)
                .start();
        p.getOutputStream().write(data);
        p.getOutputStream().close();
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        p.getInputStream().transferTo(o);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0)
            throw new IOException("protoc failed: " + o.toString(StandardCharsets.UTF_8));
        return o.toString(StandardCharsets.UTF_8);
    }
}
