package convnet.weights;

import static convnet.weights.HostileFiles.Pickle;
import static convnet.weights.HostileFiles.ZipItem;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.UserException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weight files that claim more than they hold or nest deeper than any state dict: each is refused with one line
 * naming the file and what is wrong, without a deep recursion and without allocating what it claims.
 */
class HostileWeightsTest {
    @TempDir
    Path tmp;

    /** The error that reading {@code file} ends in: a user error, one line, naming the file. */
    static String refused(Path file) {
        UserException e = assertThrows(UserException.class, () -> Weights.read(file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertTrue(e.getMessage().length() < 400, "short: " + e.getMessage());
        return e.getMessage();
    }

    static float[] floats(Safetensors.Entry e) {
        ByteBuffer b = ByteBuffer.wrap(e.data()).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[e.data().length / 4];
        for (int i = 0; i < out.length; i++) out[i] = b.getFloat();
        return out;
    }

    @Test
    void theHandWrittenFilesAreGoodOnes() throws Exception {
        Path legacy = HostileFiles.goodLegacy(tmp.resolve("legacy.pth"));
        Path zip = Files.write(tmp.resolve("zip.pth"), HostileFiles.zip(HostileFiles.goodZipItems()));
        for (Path p : List.of(legacy, zip)) {
            Safetensors.Entry w = Weights.read(p).get("w");
            assertArrayEquals(new long[] {2}, w.shape());
            assertArrayEquals(new float[] {1.5f, -2f}, floats(w), 0f, p.toString());
        }
    }

    /** A tensor shown in an error message (say, used as a persistent id) reads as numbers, not array addresses. */
    @Test
    void aTensorInAnErrorMessageShowsItsSizesAsNumbers() {
        var t = new Unpickler.TensorRef(
                new Unpickler.StorageRef("FloatStorage", "0", 6), 0, new long[] {2, 3}, new long[] {3, 1});
        String shown = Text.shown(List.of(t));
        assertTrue(shown.contains("size [2, 3], stride [3, 1]") && !shown.contains("[J@"), shown);
    }

    @Test
    void picklesNestedDeeperThanAThousandLevelsAreRefused() throws Exception {
        String deep = ": pickle nesting deeper than 1000 levels";
        Path marks = HostileFiles.legacy(tmp.resolve("marks.pth"), HostileFiles.nestedByMarks(200_000));
        assertEquals(marks + deep, refused(marks));
        Path tuples = HostileFiles.legacy(tmp.resolve("tuples.pth"), HostileFiles.nestedTuples(200_000));
        assertEquals(tuples + deep, refused(tuples));
        // ] ] ] ... a a a: lists appended into lists, as Python's pickler writes [[[...]]]
        Path lists = HostileFiles.legacy(
                tmp.resolve("lists.pth"),
                new Pickle().ops(']', 200_000).ops('a', 199_999).stop());
        assertEquals(lists + deep, refused(lists));
        // as a state dict's key (Java would hash it), and as the legacy version number (the message would print it)
        Path key = HostileFiles.legacy(
                tmp.resolve("key.pth"),
                new Pickle()
                        .op('}')
                        .op('N')
                        .ops((char) 0x85, 200_000)
                        .op('N', 's')
                        .stop());
        assertEquals(key + deep, refused(key));
        Path version = Files.write(
                tmp.resolve("version.pth"),
                HostileFiles.concat(
                        HostileFiles.legacyMagic(),
                        HostileFiles.nestedTuples(200_000).bytes()));
        assertEquals(version + deep, refused(version));
        // in a zip's data.pkl too
        ZipItem[] items = HostileFiles.goodZipItems();
        items[0] = ZipItem.of(
                "archive/data.pkl", HostileFiles.nestedByMarks(50_000).bytes());
        Path zip = Files.write(tmp.resolve("zip.pth"), HostileFiles.zip(items));
        assertEquals(zip + deep, refused(zip));
        // the limit itself is fine: 999 marks deep is merely no state dict
        Path atLimit = HostileFiles.legacy(tmp.resolve("limit.pth"), HostileFiles.nestedByMarks(999));
        assertTrue(refused(atLimit).contains("holds no state dict"), refused(atLimit));
    }

    /**
     * Nesting built top-down through the memo (each list put into its parent while still empty, so no count made
     * while building sees it) and a list that holds itself: measured afterwards, without recursion.
     */
    @Test
    void nestingBuiltThroughTheMemoAndSelfReferenceAreMeasuredToo() throws Exception {
        String deep = ": pickle nesting deeper than 1000 levels";
        Path topDownKey = HostileFiles.legacy(
                tmp.resolve("topdown-key.pth"),
                HostileFiles.nestedTopDown(new Pickle().op('}'), 100_000)
                        .op('N', 's')
                        .stop());
        assertEquals(topDownKey + deep, refused(topDownKey));
        Path topDownVersion = Files.write(
                tmp.resolve("topdown-version.pth"),
                HostileFiles.concat(
                        HostileFiles.legacyMagic(),
                        HostileFiles.nestedTopDown(new Pickle(), 100_000).stop().bytes()));
        assertEquals(topDownVersion + deep, refused(topDownVersion));
        Path popped = HostileFiles.legacy( // built, then dropped from the stack: still measured
                tmp.resolve("popped.pth"),
                HostileFiles.nestedTopDown(new Pickle(), 100_000)
                        .op('0')
                        .op('N')
                        .stop());
        assertEquals(popped + deep, refused(popped));
        String itself = ": pickle holds a structure that contains itself";
        Path selfKey = HostileFiles.legacy(
                tmp.resolve("self-key.pth"),
                HostileFiles.selfContaining(new Pickle().op('}')).op('N', 's').stop());
        assertEquals(selfKey + itself, refused(selfKey));
        Path selfValue = HostileFiles.legacy(
                tmp.resolve("self-value.pth"),
                HostileFiles.selfContaining(new Pickle().op('}').str("w"))
                        .op('s')
                        .stop());
        assertEquals(selfValue + itself, refused(selfValue));
        // a thousand levels built top-down are fine (and no state dict)
        Path atLimit = HostileFiles.legacy(
                tmp.resolve("limit.pth"),
                HostileFiles.nestedTopDown(new Pickle(), 1000).stop());
        assertTrue(refused(atLimit).contains("holds no state dict"), refused(atLimit));
    }

    /** A zip of pickles as libtorch's OutputArchive writes (a checkpoint's optimizer.pt), checked before libtorch reads it. */
    @Test
    void libtorchArchivesAreCheckedBeforeLibtorchReadsThem() throws Exception {
        byte[] module = new Pickle()
                .global("__torch__", "Module")
                .op(')', 0x81, '}', '(')
                .str("step")
                .integer(3)
                .str("state")
                .tensor("0", 2, new long[] {2}, new long[] {1}, false)
                .op('u', 'b')
                .stop()
                .bytes();
        ZipItem code = ZipItem.of("optimizer/code/__torch__.py", "class Module(Module):\n  step : int\n".getBytes());
        Path good = Files.write(
                tmp.resolve("optimizer.pt"),
                HostileFiles.zip(
                        ZipItem.of("optimizer/data.pkl", module),
                        code,
                        ZipItem.of("optimizer/data/0", HostileFiles.floats(1f, 2f))));
        TorchFile.checkArchive(good); // the same pickle would be refused as a weights file: it names __torch__.Module
        Path deep = Files.write(
                tmp.resolve("deep.pt"),
                HostileFiles.zip(
                        ZipItem.of(
                                "optimizer/data.pkl",
                                HostileFiles.nestedTuples(200_000).bytes()),
                        code));
        WeightsException e = assertThrows(WeightsException.class, () -> TorchFile.checkArchive(deep));
        assertEquals(deep + ": optimizer/data.pkl: pickle nesting deeper than 1000 levels", e.getMessage());
        // deep through BUILD: each object's state holds the object before
        Pickle built = new Pickle();
        for (int i = 0; i < 5000; i++) {
            built.global("__torch__", "M").op(')', 0x81).put(i).op('}').str("s");
            (i == 0 ? built.op('N') : built.get(i - 1)).op('s', 'b', '0');
        }
        built.get(4999);
        Path builds = Files.write(
                tmp.resolve("builds.pt"),
                HostileFiles.zip(ZipItem.of("optimizer/data.pkl", built.stop().bytes())));
        e = assertThrows(WeightsException.class, () -> TorchFile.checkArchive(builds));
        assertTrue(e.getMessage().endsWith("pickle nesting deeper than 1000 levels"), e.getMessage());
        Path claims = Files.write(
                tmp.resolve("claims.pt"),
                HostileFiles.zip(ZipItem.of("optimizer/data.pkl", module), code.claiming(0xfffffff0L)));
        e = assertThrows(WeightsException.class, () -> TorchFile.checkArchive(claims));
        assertTrue(
                e.getMessage().startsWith(claims + ": optimizer/code/__torch__.py claims 4.0 GB uncompressed"),
                e.getMessage());
        Path notZip = Files.writeString(tmp.resolve("text.pt"), "not a zip");
        e = assertThrows(WeightsException.class, () -> TorchFile.checkArchive(notZip));
        assertTrue(e.getMessage().startsWith(notZip + ": not a libtorch archive"), e.getMessage());
    }

    @Test
    void aPickleThatMakesMillionsOfObjectsIsRefused() throws Exception {
        Path many = HostileFiles.legacy(
                tmp.resolve("many.pth"),
                new Pickle().ops(']', (int) Unpickler.MAX_OBJECTS + 1).stop());
        assertTrue(refused(many).contains("makes more than 5,000,000 objects"), refused(many));
    }

    @Test
    void damagedPickleOpcodesAreUserErrors() throws Exception {
        Path put = HostileFiles.legacy(
                tmp.resolve("put.pth"), new Pickle().op('N', 'p', 'x', '\n').stop());
        assertTrue(refused(put).contains("damaged pickle"), refused(put));
        Path appendToTuple = HostileFiles.legacy(
                tmp.resolve("tuple.pth"), new Pickle().op(')', 'N', 'a').stop());
        assertTrue(refused(appendToTuple).contains("damaged pickle"), refused(appendToTuple));
    }

    @Test
    void aZipEntryClaimingMoreThanTheFileIsRefusedUnread() throws Exception {
        Path four = HostileFiles.zipClaiming(tmp.resolve("claims-4g.pth"), 0xfffffff0L);
        long size = Files.size(four);
        assertEquals(
                four + ": archive/data.pkl claims 4.0 GB uncompressed, more than the file's " + size + " bytes allows",
                refused(four));
        // ZIP64: a size in the extra field
        Path nine = HostileFiles.zipClaiming(tmp.resolve("claims-9eb.pth"), 9_000_000_000_000_000_000L);
        assertTrue(
                refused(nine).startsWith(nine + ": archive/data.pkl claims 7.8 EB uncompressed, more than the file's"),
                refused(nine));
        // the compressed size too
        ZipItem[] items = HostileFiles.goodZipItems();
        items[1] = items[1].claiming(1L << 40).claimingCompressed(1L << 40);
        Path both = Files.write(tmp.resolve("both.pth"), HostileFiles.zip(items));
        String m = refused(both);
        assertTrue(m.contains("archive/data/0 claims 1 TB") || m.contains("damaged or truncated zip"), m);
    }

    @Test
    void deflatedEntriesAreBoundedByTheFileAndByWhatTheyClaim() throws Exception {
        byte[] zeros = new byte[4 << 20];
        byte[] pickle = new Pickle()
                .orderedDict()
                .str("w")
                .tensor("0", 1 << 20, new long[] {1 << 20}, new long[] {1}, false)
                .op('s')
                .stop()
                .bytes();
        Path bomb = Files.write(
                tmp.resolve("bomb.pth"),
                HostileFiles.zip(
                        ZipItem.of("archive/data.pkl", pickle),
                        ZipItem.of("archive/data/0", zeros).deflated()));
        assertTrue(
                refused(bomb).contains("archive/data/0 claims 4 MB uncompressed, more than the file's")
                        && refused(bomb).contains("(32× it for a compressed entry)"),
                refused(bomb));
        Path understated = Files.write(
                tmp.resolve("understated.pth"),
                HostileFiles.zip(
                        ZipItem.of("archive/data.pkl", pickle),
                        ZipItem.of("archive/data/0", zeros).deflated().claiming(8)));
        assertTrue(
                refused(understated).contains("archive/data/0 holds more data than the 8 bytes it claims"),
                refused(understated));
        // a deflated entry that claims what it holds, within the bound, is read
        ZipItem[] items = HostileFiles.goodZipItems();
        items[0] = items[0].deflated();
        items[1] = items[1].deflated();
        Path fine = Files.write(tmp.resolve("fine.pth"), HostileFiles.zip(items));
        assertArrayEquals(new float[] {1.5f, -2f}, floats(Weights.read(fine).get("w")), 0f);
    }

    /** Sixty central-directory entries on one 64 KB stored entry: each fits in the file, together they do not. */
    @Test
    void overlappingEntriesAreBoundedInTotal() throws Exception {
        int tensors = 60, numel = 16384;
        Pickle p = new Pickle().orderedDict();
        for (int i = 0; i < tensors; i++)
            p.str("w" + i)
                    .tensor(String.valueOf(i), numel, new long[] {numel}, new long[] {1}, false)
                    .op('s');
        List<String> aliases = new ArrayList<>();
        for (int i = 1; i < tensors; i++) aliases.add("archive/data/" + i);
        Path overlap = Files.write(
                tmp.resolve("overlap.pth"),
                HostileFiles.zip(
                        List.of(
                                ZipItem.of("archive/data.pkl", p.stop().bytes()),
                                ZipItem.of("archive/data/0", new byte[4 * numel])),
                        aliases,
                        1));
        String m = refused(overlap);
        assertTrue(m.contains("allows with the entries read before it"), m);
    }

    @Test
    void tensorsMayNotReachPastOrMultiplyTheirStorage() throws Exception {
        ZipItem[] items = HostileFiles.goodZipItems();
        items[0] = ZipItem.of(
                "archive/data.pkl",
                new Pickle()
                        .orderedDict()
                        .str("w")
                        .tensor("0", 2, new long[] {3}, new long[] {1}, false)
                        .op('s')
                        .stop()
                        .bytes());
        Path past = Files.write(tmp.resolve("past.pth"), HostileFiles.zip(items));
        assertTrue(refused(past).contains("tensor 'w' reaches past its storage"), refused(past));
        Pickle many = new Pickle().orderedDict();
        for (int i = 0; i < 20; i++)
            many.str("w" + i)
                    .tensor("0", 2, new long[] {500_000_000}, new long[] {0}, false)
                    .op('s');
        items[0] = ZipItem.of("archive/data.pkl", many.stop().bytes());
        Path repeated = Files.write(tmp.resolve("repeated.pth"), HostileFiles.zip(items));
        assertTrue(
                refused(repeated).contains("the tensors up to 'w0' claim 1.9 GB, more than 4× the 8 bytes"),
                refused(repeated));
        items[0] = ZipItem.of(
                "archive/data.pkl",
                new Pickle()
                        .orderedDict()
                        .str("w")
                        .tensor("0", 2, new long[] {2, 2}, new long[] {Integer.MAX_VALUE, 1}, false)
                        .op('s')
                        .stop()
                        .bytes());
        Path stride = Files.write(tmp.resolve("stride.pth"), HostileFiles.zip(items));
        assertTrue(refused(stride).contains("reaches past its storage"), refused(stride));
    }

    @Test
    void aLegacyStorageClaimingMoreThanTheFileIsRefused() throws Exception {
        Path p = HostileFiles.goodLegacy(tmp.resolve("numel.pth"));
        byte[] all = Files.readAllBytes(p);
        ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).putLong(all.length - 16, 1L << 62);
        Files.write(p, all);
        assertTrue(refused(p).contains("truncated (storage 0 claims 4611686018427387904 elements"), refused(p));
    }

    @Test
    void safetensorsClaimsAreCheckedAgainstTheFile() throws Exception {
        byte[] four = HostileFiles.floats(1f);
        Path headerLength = tmp.resolve("length.safetensors");
        Files.write(
                headerLength,
                HostileFiles.concat(
                        ByteBuffer.allocate(8)
                                .order(ByteOrder.LITTLE_ENDIAN)
                                .putLong(1L << 62)
                                .array(),
                        "{\"w\":{}}".getBytes()));
        assertTrue(refused(headerLength).contains("header length 4611686018427387904, file 16 bytes"));
        Path beyond = HostileFiles.safetensors(
                tmp.resolve("beyond.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[250000000000],\"data_offsets\":[0,1000000000000]}}",
                four);
        assertTrue(refused(beyond).contains("more than convnet loads"), refused(beyond));
        Path offsets = HostileFiles.safetensors(
                tmp.resolve("offsets.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                four);
        assertTrue(refused(offsets).contains("tensor 'w' has a bad byte range [4, 8)"), refused(offsets));
        Path overflow = HostileFiles.safetensors(
                tmp.resolve("overflow.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[9223372036854775800,9223372036854775804]}}",
                four);
        assertTrue(refused(overflow).contains("has a bad byte range"), refused(overflow));
        Path shape = HostileFiles.safetensors(
                tmp.resolve("shape.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":{\"a\":1},\"data_offsets\":[0,4]}}",
                four);
        assertTrue(refused(shape).contains("tensor 'w' has no shape"), refused(shape));
        Path json = HostileFiles.safetensors(tmp.resolve("json.safetensors"), "{\"w\":[[[", four);
        assertTrue(refused(json).contains("damaged safetensors header"), refused(json));
        Path nested = HostileFiles.safetensors(
                tmp.resolve("nested.safetensors"), "{\"w\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}", four);
        assertTrue(refused(nested).contains("damaged safetensors header"), refused(nested));
        Path name = HostileFiles.safetensors(
                tmp.resolve("name.safetensors"),
                "{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                four);
        assertTrue(refused(name).contains("tensor 'a\\nb' has a bad byte range"), refused(name));
    }
}
