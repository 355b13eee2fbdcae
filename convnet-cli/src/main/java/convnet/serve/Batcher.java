package convnet.serve;

import convnet.data.BadImageException;
import convnet.eval.Classifier;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dynamic batching for one model: request threads put decoded images on a queue; one thread takes up to
 * {@code maxBatch} of them, waiting at most {@code wait} after the oldest arrived, and classifies them in one
 * forward pass. With {@code maxBatch} 1 every image has a forward pass of its own.
 */
final class Batcher {
    private static final Logger log = LoggerFactory.getLogger(Batcher.class);

    /**
     * One image waiting for its guesses (all classes, best first): decoded pixels ({@link BufferedImage}) or a
     * {@link Classifier.Preprocessed} tensor, which share batches.
     */
    static final class Item {
        private static final int QUEUED = 0, RUNNING = 1, CANCELLED = 2;
        final Object image;
        final CompletableFuture<List<Classifier.Guess>> result = new CompletableFuture<>();
        final long arrived = System.nanoTime();
        private final AtomicInteger state = new AtomicInteger(QUEUED);

        Item(Object image) {
            this.image = image;
        }

        /** Withdraws an item that is still waiting; false when its forward pass has begun (or it is done). */
        boolean cancel() {
            return state.compareAndSet(QUEUED, CANCELLED);
        }

        private boolean cancelled() {
            return state.get() == CANCELLED;
        }

        private boolean start() {
            return state.compareAndSet(QUEUED, RUNNING);
        }
    }

    private static final Item STOP = new Item(null);

    private final String model;
    private final Classifier classifier;
    private final int maxBatch;
    private final long waitNanos;
    private final Metrics metrics;
    private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopping;

    Batcher(String model, Classifier classifier, int maxBatch, long waitNanos, Metrics metrics) {
        this.model = model;
        this.classifier = classifier;
        this.maxBatch = maxBatch;
        this.waitNanos = waitNanos;
        this.metrics = metrics;
        metrics.queue(model, queue::size);
        thread = new Thread(this::loop, "serve-batcher-" + model);
        thread.setDaemon(true);
        thread.start();
    }

    void submit(Item item) {
        if (stopping) throw HttpError.unavailable("shutting_down", "the server is shutting down");
        queue.add(item);
    }

    /** Finishes what is queued, then ends the thread; waits at most {@code millis}. */
    void stop(long millis) throws InterruptedException {
        stopping = true;
        queue.add(STOP);
        thread.join(Math.max(1, millis));
        for (Item left; (left = queue.poll()) != null; )
            if (left != STOP) left.result.completeExceptionally(new IllegalStateException("the server stopped"));
    }

    private void loop() {
        List<Item> batch = new ArrayList<>(maxBatch);
        while (true) {
            Item first;
            try {
                first = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (first == STOP) return;
            batch.clear();
            batch.add(first);
            boolean stop = collect(batch, first.arrived + waitNanos);
            // an item counts as begun only now: one withdrawn while the batch filled is left out
            batch.removeIf(i -> !i.start());
            if (!batch.isEmpty()) run(batch);
            if (stop) return;
        }
    }

    /** Adds waiting items to the batch until it is full or the deadline passes; true when STOP was taken. */
    private boolean collect(List<Item> batch, long deadline) {
        while (batch.size() < maxBatch) {
            Item next = queue.poll();
            if (next == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                try {
                    next = queue.poll(left, TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return true;
                }
                if (next == null) return false;
            }
            if (next == STOP) return true;
            if (!next.cancelled()) batch.add(next);
        }
        return false;
    }

    private void run(List<Item> batch) {
        List<Object> images = new ArrayList<>(batch.size());
        for (Item i : batch) images.add(i.image);
        int all = classifier.classes().size();
        long t0 = System.nanoTime();
        try {
            List<List<Classifier.Guess>> out = classifier.predict(images, all);
            metrics.batch(model, batch.size(), (System.nanoTime() - t0) / 1e9);
            for (int i = 0; i < batch.size(); i++) batch.get(i).result.complete(out.get(i));
        } catch (BadImageException e) {
            // decoding passed in the request thread, so this is rare: one image must not fail the others
            log.debug("model {}: a batch of {} failed ({}); predicting its images one by one", model, batch.size(), e);
            for (Item i : batch) {
                try {
                    i.result.complete(classifier.predict(List.of(i.image), all).get(0));
                    metrics.batch(model, 1, (System.nanoTime() - t0) / 1e9);
                } catch (RuntimeException one) {
                    i.result.completeExceptionally(one);
                }
            }
        } catch (Throwable t) {
            for (Item i : batch) i.result.completeExceptionally(t);
        }
    }
}
