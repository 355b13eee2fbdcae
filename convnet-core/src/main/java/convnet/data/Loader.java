package convnet.data;

import convnet.config.Word;
import convnet.data.transform.Pipeline;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.PointerScope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes and augments batches on worker threads, a bounded number of batches ahead of the
 * consumer. The order of samples is a permutation fixed by (seed, epoch); each sample's random
 * augmentation is seeded by (seed, epoch, sample index), so a run is reproducible whatever the number
 * of threads.
 */
public final class Loader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Loader.class);

    /** A batch: {@code images} holds {@code size} images of 3 × h × w floats, channel first. */
    public record Batch(float[] images, long[] labels, int size, int height, int width, int skipped) {}

    /** {@code data.on_bad_image}: stop at an image that cannot be read, or skip it (and say so). */
    public enum OnBadImage implements Word {
        ERROR,
        SKIP;

        @Override
        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * How batches are cut: {@code shuffle} the order each epoch (a permutation fixed by seed and epoch),
     * {@code dropLast} leave out a last incomplete batch, {@code workers} decoding threads.
     */
    public record Options(
            int batchSize, boolean shuffle, boolean dropLast, long seed, int workers, OnBadImage onBadImage) {
        /** For training: shuffled, incomplete last batch dropped. */
        public static Options training(int batchSize, long seed, int workers, OnBadImage onBad) {
            return new Options(batchSize, true, true, seed, workers, onBad);
        }

        /** For evaluation: every image once, in order. */
        public static Options evaluation(int batchSize, int workers, OnBadImage onBad) {
            return new Options(batchSize, false, false, 0, workers, onBad);
        }
    }

    private final List<Sample> samples;
    private final Pipeline pipeline;
    private final float[] mean, std;
    private final int batchSize;
    private final boolean shuffle, dropLast;
    private final long seed;
    private final OnBadImage onBad;
    private final ExecutorService pool;
    private final int prefetch;
    private final AtomicLong skippedTotal = new AtomicLong();
    private int shard = 0, shards = 1;
    private DecodedCache cache; // null: decode every time

    /** Batches of {@code samples} through {@code pipeline}, normalised with {@code mean} and {@code std} per channel. */
    public Loader(List<Sample> samples, Pipeline pipeline, float[] mean, float[] std, Options o) {
        this.samples = List.copyOf(samples);
        this.pipeline = pipeline;
        this.mean = mean;
        this.std = std;
        this.batchSize = o.batchSize();
        this.shuffle = o.shuffle();
        this.dropLast = o.dropLast();
        this.seed = o.seed();
        this.onBad = o.onBadImage();
        int threads = Math.max(1, o.workers());
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "loader");
            t.setDaemon(true);
            return t;
        });
        this.prefetch = threads * 2;
    }

    /**
     * Makes this loader deliver only part {@code shard} of {@code shards} of each batch (for data-parallel
     * training: every process sees the same batches, each takes its own slice). The batch size must divide evenly.
     */
    public Loader shard(int shard, int shards) {
        if (batchSize % shards != 0) { // a run checks its config's batch size before (RunConfig.Data.checkWorldSize)
            throw new IllegalArgumentException(
                    "a batch of " + batchSize + " does not divide into " + shards + " shards");
        }
        this.shard = shard;
        this.shards = shards;
        return this;
    }

    /** Keeps the decoded images in {@code cache} from their first use on (null: decode every time). */
    public Loader cache(DecodedCache cache) {
        this.cache = cache;
        return this;
    }

    /** Images per batch (of this process's shard in data-parallel training). */
    public int batchSize() {
        return batchSize / shards;
    }

    public int batchesPerEpoch() {
        int n = samples.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    public int size() {
        return samples.size();
    }

    public long skippedTotal() {
        return skippedTotal.get();
    }

    /** The sample order of an epoch. */
    public List<Integer> order(int epoch) {
        List<Integer> idx = new ArrayList<>(samples.size());
        for (int i = 0; i < samples.size(); i++) idx.add(i);
        if (shuffle) Collections.shuffle(idx, new Random(seed * 7919L + epoch));
        return idx;
    }

    /** The batches of one epoch, starting at batch {@code fromBatch} (for resuming mid-epoch). */
    public Iterator<Batch> epoch(int epoch, int fromBatch) {
        List<Integer> order = order(epoch);
        int batches = batchesPerEpoch();
        return new Iterator<Batch>() {
            final ArrayDeque<Future<Batch>> inFlight = new ArrayDeque<>();
            int nextBatch = fromBatch;

            void fill() {
                while (inFlight.size() < prefetch && nextBatch < batches) {
                    int b = nextBatch++;
                    int from = b * batchSize, to = Math.min(order.size(), from + batchSize);
                    if (shards > 1) {
                        int per = (to - from) / shards;
                        from += shard * per;
                        to = from + per;
                    }
                    int lo = from, hi = to;
                    inFlight.add(pool.submit(() -> load(order.subList(lo, hi), epoch)));
                }
            }

            @Override
            public boolean hasNext() {
                fill();
                return !inFlight.isEmpty();
            }

            @Override
            public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                Future<Batch> f = inFlight.poll();
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while loading", e);
                } catch (ExecutionException e) {
                    for (Future<Batch> other : inFlight) other.cancel(true);
                    inFlight.clear();
                    if (e.getCause() instanceof RuntimeException re) throw re;
                    throw new IllegalStateException(e.getCause());
                }
            }
        };
    }

    private Batch load(List<Integer> indices, int epoch) {
        int s = pipeline.size, per = 3 * s * s;
        float[] images = new float[indices.size() * per];
        long[] labels = new long[indices.size()];
        int n = 0, skipped = 0;
        for (int index : indices) {
            Sample sample = samples.get(index);
            try (PointerScope scope = new PointerScope()) {
                Random rng = new Random(((seed * 1_000_003L) ^ (epoch * 0x9E3779B97F4A7C15L)) + index);
                pipeline.run(
                        cache != null ? cache.get(index, sample) : Images.decode(sample.file()),
                        rng,
                        mean,
                        std,
                        images,
                        n * per);
                labels[n++] = sample.label();
            } catch (BadImageException | OutOfMemoryError error) {
                BadImageException e = error instanceof BadImageException b
                        ? b
                        : new BadImageException(
                                sample.file(),
                                "too large to decode and transform in the memory left (" + error.getMessage() + ")");
                if (onBad == OnBadImage.ERROR) throw e;
                skipped++;
                skippedTotal.incrementAndGet();
                log.warn("skipped {}: {}", e.file, e.reason);
            }
        }
        if (n < indices.size()) {
            images = Arrays.copyOf(images, n * per);
            labels = Arrays.copyOf(labels, n);
        }
        return new Batch(images, labels, n, s, s, skipped);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
