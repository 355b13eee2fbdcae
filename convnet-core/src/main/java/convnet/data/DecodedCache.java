package convnet.data;

import convnet.config.Word;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Decoded images kept in memory (as BGR bytes), so that each file is read and decoded once and every later
 * epoch augments (or, for validation, transforms) from the pixels. A lookup gives a fresh copy: augmentation never changes what
 * is cached. Thread-safe; filled by the loader's workers as they meet each image.
 */
public final class DecodedCache {
    /**
     * {@code data.cache}: keep the decoded training images in memory always ({@code ram}), never ({@code none}), or
     * when they fit ({@code auto}: decided when a run starts).
     */
    public enum Mode implements Word {
        AUTO,
        RAM,
        NONE;

        @Override
        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private record Pixels(int rows, int cols, byte[] bgr) {}

    private final ConcurrentHashMap<Integer, Pixels> byIndex = new ConcurrentHashMap<>();
    private final AtomicLong bytes = new AtomicLong();

    /** The image of sample {@code index}: from the cache, or decoded from {@code sample}'s file and cached. Call inside a PointerScope. */
    Mat get(int index, Sample sample) {
        Pixels p = byIndex.get(index);
        if (p == null) {
            Mat img = Images.decode(sample.file());
            Mat dense = img.isContinuous() ? img : img.clone();
            byte[] data = new byte[(int) (dense.total() * dense.channels())];
            dense.data().get(data);
            p = new Pixels(dense.rows(), dense.cols(), data);
            if (byIndex.putIfAbsent(index, p) == null) bytes.addAndGet(data.length);
        }
        Mat out = new Mat(p.rows(), p.cols(), opencv_core.CV_8UC3);
        out.data().put(p.bgr());
        return out;
    }

    /** Bytes held. */
    public long bytes() {
        return bytes.get();
    }

    public int size() {
        return byIndex.size();
    }

    /**
     * An estimate of the decoded size of {@code samples} in bytes, from the image headers of up to 200 of
     * them (a fixed subset) scaled to the whole set; images whose header tells no size count as 512×512.
     */
    public static long estimateBytes(List<Sample> samples) {
        int n = Math.min(200, samples.size());
        if (n == 0) return 0;
        long sum = 0;
        for (int i = 0; i < n; i++) {
            Sample s = samples.get((int) ((long) i * samples.size() / n));
            long[] size = null;
            try (InputStream in = Files.newInputStream(s.file())) {
                size = ImageHeader.size(in.readNBytes(1 << 16));
            } catch (IOException | RuntimeException e) {
                // unreadable here: the loader will say so
            }
            sum += size == null ? 512L * 512 * 3 : size[0] * size[1] * 3;
        }
        return sum * samples.size() / n;
    }
}
