package convnet.report;

import convnet.data.BadImageException;
import convnet.data.Images;
import convnet.data.Sample;
import convnet.data.transform.Pipeline;
import convnet.io.AtomicFiles;
import convnet.io.Png;
import convnet.model.Summary;
import convnet.train.EpochStats;
import convnet.train.TrainListener;
import convnet.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.bytedeco.javacpp.PointerScope;
import org.slf4j.LoggerFactory;

/**
 * TensorBoard event files written directly: TFRecord framing (length, masked CRC-32C of the length,
 * the Event protobuf, masked CRC-32C of the data), with scalars per epoch (train/val loss and
 * accuracy, val top-5, learning rate, epoch seconds), sample input images and the model graph (a
 * GraphDef of the layers in order, each with its output shape and parameter count). The file is rebuilt
 * atomically from {@link MetricsCsv}'s rows each epoch, so after a resume the curves continue with no
 * gap and no duplicate points.
 */
public final class TensorBoard implements TrainListener {
    private final Path file;
    private final MetricsCsv metrics;
    private final List<byte[]> images = new ArrayList<>(); // PNGs of sample inputs
    private final double startTime = System.currentTimeMillis() / 1000.0;
    private byte[] graph; // GraphDef, or null

    /** Events written to {@code file} (rebuilt whole each epoch) from {@code metrics}' rows. */
    public TensorBoard(Path file, MetricsCsv metrics) {
        this.metrics = metrics;
        this.file = file;
    }

    /** The host name that TensorBoard shows in an event file's name. */
    public static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    public Path file() {
        return file;
    }

    /** The first {@code n} readable images of {@code samples} after {@code transforms} (un-normalised), as PNGs to show. */
    public static List<byte[]> samplePngs(List<Sample> samples, Pipeline transforms, int size, int n) {
        List<byte[]> out = new ArrayList<>();
        float[] px = new float[3 * size * size];
        for (Sample s : samples.subList(0, Math.min(n, samples.size()))) {
            try (PointerScope scope = new PointerScope()) {
                transforms.run(
                        Images.decode(s.file()), new Random(0), new float[] {0, 0, 0}, new float[] {1, 1, 1}, px, 0);
                out.add(Png.encode(Png.fromChw(px, size)));
            } catch (BadImageException e) {
                LoggerFactory.getLogger(TensorBoard.class).debug("no sample image from {}: {}", e.file, e.reason);
            }
        }
        return out;
    }

    /** Adds a sample input image (PNG bytes), shown under the tag {@code inputs}. */
    public void addImage(byte[] png) {
        images.add(png);
    }

    /**
     * Sets the model graph shown in TensorBoard's Graphs tab: an input node, one node per layer of
     * {@code summary} (named by its path, so blocks group as scopes) chained in execution order, and an
     * output node. Each node carries {@code _output_shapes} (batch as -1), its description and parameters.
     */
    public void setGraph(Summary summary, String modelName) {
        ByteArrayOutputStream g = new ByteArrayOutputStream();
        String scope = modelName.replaceAll("[^A-Za-z0-9_.-]", "_");
        String prev = "input";
        node(g, prev, "IO Node", null, summary.inputShape, null, -1);
        for (Summary.Row r : summary.rows) {
            String name = scope + "/" + r.name().replace('.', '/');
            String describe = r.layer();
            int paren = describe.indexOf('(');
            node(
                    g,
                    name,
                    paren > 0 ? describe.substring(0, paren) : describe,
                    prev,
                    r.outputShape(),
                    describe,
                    r.params());
            prev = name;
        }
        long[] out = summary.rows.isEmpty()
                ? summary.inputShape
                : summary.rows.get(summary.rows.size() - 1).outputShape();
        node(g, "output", "IO Node", prev, out, null, -1);
        message(g, 4, v -> varintField(v, 1, 22)); // versions { producer: 22 }, as PyTorch's writer
        graph = g.toByteArray();
    }

    private static void node(
            ByteArrayOutputStream g, String name, String op, String input, long[] shape, String describe, long params) {
        message(g, 1, n -> {
            string(n, 1, name);
            string(n, 2, op);
            if (input != null) string(n, 3, input);
            attr(
                    n,
                    "_output_shapes",
                    a -> message(
                            a,
                            1,
                            list -> message(list, 7, sh -> {
                                for (int i = 0; i < shape.length; i++) {
                                    long size = i == 0 ? -1 : shape[i];
                                    message(sh, 2, dim -> varintField(dim, 1, size));
                                }
                            })));
            if (describe != null) attr(n, "layer", a -> string(a, 2, describe));
            if (params >= 0) attr(n, "params", a -> varintField(a, 3, params));
        });
    }

    private static void attr(ByteArrayOutputStream node, String key, Body value) {
        message(node, 5, e -> {
            string(e, 1, key);
            message(e, 2, value);
        });
    }

    @Override
    public void onTrainStart(Trainer trainer) {
        // a run resumed from its last checkpoint may have been killed before this file caught up with metrics.csv
        if (!metrics.rows().isEmpty()) onEpochEnd(trainer, null);
    }

    @Override
    public void onEpochEnd(Trainer trainer, EpochStats ignored) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        record(out, event(startTime, 0, b -> string(b, 3, "brain.Event:2")));
        if (graph != null) record(out, event(startTime, 0, b -> bytesField(b, 4, graph)));
        for (int i = 0; i < images.size(); i++) {
            byte[] png = images.get(i);
            int[] wh = pngSize(png);
            int step = i;
            record(
                    out,
                    event(
                            startTime,
                            step,
                            b -> message(
                                    b,
                                    5,
                                    v -> message(v, 1, val -> {
                                        string(val, 1, "inputs/" + step);
                                        message(val, 4, img -> {
                                            varintField(img, 1, wh[1]);
                                            varintField(img, 2, wh[0]);
                                            varintField(img, 3, 3);
                                            bytesField(img, 4, png);
                                        });
                                    }))));
        }
        for (EpochStats s : metrics.rows()) {
            double wall = startTime + s.epoch();
            scalar(out, wall, s.epoch(), "train/loss", s.trainLoss());
            scalar(out, wall, s.epoch(), "train/accuracy", s.trainAcc());
            scalar(out, wall, s.epoch(), "val/loss", s.valLoss());
            scalar(out, wall, s.epoch(), "val/accuracy", s.valAcc());
            scalar(out, wall, s.epoch(), "val/top5", s.valTop5());
            scalar(out, wall, s.epoch(), "lr", s.lr());
            scalar(out, wall, s.epoch(), "time/epoch_seconds", s.seconds());
        }
        byte[] data = out.toByteArray();
        AtomicFiles.writeAtomically(file, o -> o.write(data));
    }

    private static void scalar(ByteArrayOutputStream out, double wall, long step, String tag, double value) {
        if (Double.isNaN(value)) return;
        record(
                out,
                event(
                        wall,
                        step,
                        b -> message(
                                b,
                                5,
                                v -> message(v, 1, val -> {
                                    string(val, 1, tag);
                                    fixed32Field(val, 2, Float.floatToIntBits((float) value));
                                }))));
    }

    interface Body {
        void write(ByteArrayOutputStream b);
    }

    static byte[] event(double wall, long step, Body body) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        tag(b, 1, 1); // wall_time: double
        long bits = Double.doubleToLongBits(wall);
        for (int i = 0; i < 8; i++) b.write((int) (bits >>> (8 * i)) & 0xff);
        varintField(b, 2, step);
        body.write(b);
        return b.toByteArray();
    }

    static void record(ByteArrayOutputStream out, byte[] data) {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length);
        byte[] l = len.array();
        out.writeBytes(l);
        out.writeBytes(le32(maskedCrc(l)));
        out.writeBytes(data);
        out.writeBytes(le32(maskedCrc(data)));
    }

    /** TFRecord's masked CRC-32C. */
    public static int maskedCrc(byte[] data) {
        CRC32C c = new CRC32C();
        c.update(data);
        int crc = (int) c.getValue();
        return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
    }

    static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    static void tag(ByteArrayOutputStream b, int field, int wire) {
        varint(b, ((long) field << 3) | wire);
    }

    static void varint(ByteArrayOutputStream b, long v) {
        while ((v & ~0x7FL) != 0) {
            b.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        b.write((int) v);
    }

    static void varintField(ByteArrayOutputStream b, int field, long v) {
        tag(b, field, 0);
        varint(b, v);
    }

    static void fixed32Field(ByteArrayOutputStream b, int field, int v) {
        tag(b, field, 5);
        b.writeBytes(le32(v));
    }

    static void bytesField(ByteArrayOutputStream b, int field, byte[] data) {
        tag(b, field, 2);
        varint(b, data.length);
        b.writeBytes(data);
    }

    static void string(ByteArrayOutputStream b, int field, String s) {
        bytesField(b, field, s.getBytes(StandardCharsets.UTF_8));
    }

    static void message(ByteArrayOutputStream b, int field, Body body) {
        ByteArrayOutputStream inner = new ByteArrayOutputStream();
        body.write(inner);
        bytesField(b, field, inner.toByteArray());
    }

    static int[] pngSize(byte[] png) {
        ByteBuffer bb = ByteBuffer.wrap(png).order(ByteOrder.BIG_ENDIAN);
        return new int[] {bb.getInt(16), bb.getInt(20)};
    }
}
