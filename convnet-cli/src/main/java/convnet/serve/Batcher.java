package convnet.serve;

import convnet.data.BadImageException;
import convnet.eval.Classifier;
import convnet.eval.DecodedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dynamic batching for one model: request threads put decoded images on a queue ({@link #classify}); one thread
 * takes up to {@code maxBatch} of them, waiting at most {@code wait} after the oldest arrived, and classifies them
 * in one forward pass ({@link Classifier#classify}, which runs the evaluation transforms as it fills the batch).
 * With {@code maxBatch} 1 every image has a forward pass of its own.
 */
final class Batcher {
    private static final Logger log = LoggerFactory.getLogger(Batcher.class);

    /**
     * One image waiting for its guesses (all classes, best first): a {@link DecodedImage} or a
     * {@link Classifier.Preprocessed} tensor, which share batches.
     */
    static final class Item {
        private static final int QUEUED = 0, RUNNING = 1, CANCELLED = 2;
        final Classifier.Input image;
        final CompletableFuture<List<Classifier.Guess>> result = new CompletableFuture<>();
        final long arrived = System.nanoTime();
        private final AtomicInteger state = new AtomicInteger(QUEUED);

        Item(Classifier.Input image) {
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
    private final ServerMetrics metrics;
    private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopping;

    Batcher(String model, Classifier classifier, int maxBatch, long waitNanos, ServerMetrics metrics) {
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
        List<Classifier.Input> images = new ArrayList<>(batch.size());
        for (Item i : batch) images.add(i.image);
        long t0 = System.nanoTime();
        try {
            List<Classifier.Prediction> out =
                    classifier.classify(images, classifier.classes().size());
            metrics.batch(model, batch.size(), (System.nanoTime() - t0) / 1e9);
            for (int i = 0; i < batch.size(); i++) {
                Classifier.Prediction p = out.get(i);
                // an image whose transforms failed fails only its own request
                if (p.error() != null)
                    batch.get(i).result.completeExceptionally(new BadImageException(Path.of(p.name()), p.error()));
                else batch.get(i).result.complete(p.top());
            }
        } catch (Throwable t) {
            log.debug("model {}: a batch of {} failed", model, batch.size(), t);
            for (Item i : batch) i.result.completeExceptionally(t);
        }
    }

    /**
     * Each image's guesses (all classes, best first) from this batcher, within {@code timeoutMs} of {@code t0}. The
     * decoded images are closed once no forward pass reads them, whatever the outcome. A refusal or a failure is an
     * {@link HttpError}.
     */
    List<List<Classifier.Guess>> classify(List<Classifier.Input> images, long t0, int timeoutMs) {
        List<Item> items = new ArrayList<>(images.size());
        for (Classifier.Input image : images) items.add(new Item(image));
        images.clear();
        try {
            for (Item item : items) submit(item);
            await(items, t0 + TimeUnit.MILLISECONDS.toNanos(timeoutMs), timeoutMs);
            List<List<Classifier.Guess>> out = new ArrayList<>(items.size());
            for (Item item : items) out.add(item.result.join());
            return out;
        } finally {
            for (Item item : items) release(item);
        }
    }

    /** Closes an item's pixels now if no forward pass will read them, else once its pass is done. */
    private static void release(Item item) {
        if (!(item.image instanceof DecodedImage d)) return;
        if (item.cancel() || item.cancelled() || item.result.isDone()) d.close();
        else item.result.whenComplete((r, e) -> d.close());
    }

    private void await(List<Item> items, long deadline, int timeoutMs) {
        CompletableFuture<?> all =
                CompletableFuture.allOf(items.stream().map(i -> i.result).toArray(CompletableFuture[]::new));
        try {
            all.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            boolean running = false;
            for (Item i : items) if (!i.cancel() && !i.result.isDone()) running = true;
            if (all.isDone() && !all.isCompletedExceptionally()) return;
            if (running)
                throw new HttpError(
                        504,
                        "timeout",
                        "the prediction did not finish within " + timeoutMs + " ms (--request-timeout-ms)");
            throw HttpError.unavailable(
                    "timeout",
                    "no forward pass began within " + timeoutMs
                            + " ms (--request-timeout-ms): the server is overloaded; try again shortly");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw HttpError.unavailable("shutting_down", "the server is shutting down");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IllegalStateException && stopping)
                throw HttpError.unavailable("shutting_down", "the server is shutting down");
            if (cause instanceof BadImageException bad) throw HttpError.badImage(bad.reason);
            throw new IllegalStateException("the forward pass failed: " + cause, cause);
        }
    }
}
