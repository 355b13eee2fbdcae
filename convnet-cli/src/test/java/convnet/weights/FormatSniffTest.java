package convnet.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A weights file's format is told by checks that cannot collide (the pickle byte 0x80 used to win over safetensors). */
class FormatSniffTest {
    /** A safetensors file with one float tensor, its JSON header padded with spaces to {@code headerLength} bytes. */
    static byte[] safetensors(int headerLength) {
        String json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        byte[] header = (json + " ".repeat(headerLength - json.length())).getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).putFloat(1.5f);
        return b.array();
    }

    @Test
    void aSafetensorsHeaderLengthEndingIn0x80IsStillSafetensors(@TempDir Path tmp) throws Exception {
        byte[] file = safetensors(0x180);
        assertEquals((byte) 0x80, file[0], "the collision case: the first byte is pickle's PROTO opcode");
        Path p = tmp.resolve("collide.safetensors");
        Files.write(p, file);
        assertEquals(Weights.Format.SAFETENSORS, Weights.format(p));
        Map<String, Safetensors.Entry> entries = Weights.read(p);
        assertArrayEquals(new long[] {1}, entries.get("w").shape());
        // the same through the command line a user runs
        convnet.Cli.Out o = convnet.Cli.run("weights", "inspect", p.toString());
        assertEquals(0, o.code(), o.stderr());
    }

    @Test
    void eachFormatIsRecognisedAndNothingElse() {
        byte[] st = safetensors(0x100);
        assertEquals(Weights.Format.SAFETENSORS, Weights.sniff(st, 9, st.length));
        assertEquals(
                Weights.Format.UNKNOWN, Weights.sniff(st, 9, 20), "a header longer than the file is not safetensors");
        assertEquals(Weights.Format.TORCH_ZIP, Weights.sniff(new byte[] {'P', 'K', 3, 4, 0, 0, 0, 0, 0}, 9, 100));
        assertEquals(Weights.Format.UNKNOWN, Weights.sniff(new byte[] {'P', 'K', 9, 9, 0, 0, 0, 0, 0}, 9, 100));
        assertEquals(
                Weights.Format.TORCH_LEGACY,
                Weights.sniff(
                        new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9},
                        9,
                        100));
        assertEquals(
                Weights.Format.UNKNOWN,
                Weights.sniff(new byte[] {(byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 0}, 9, 100),
                "0x80 without a protocol number");
        assertEquals(Weights.Format.UNKNOWN, Weights.sniff("hello".getBytes(StandardCharsets.UTF_8), 5, 5));
    }
}
