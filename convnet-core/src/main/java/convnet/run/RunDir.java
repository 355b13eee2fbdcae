package convnet.run;

import convnet.UserException;
import convnet.bundle.ModelBundle;
import convnet.io.Dirs;
import convnet.train.Checkpoints;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/**
 * A run directory: the one place a run writes, and the only class that knows its layout. It is locked
 * while a run trains in it; {@link #clearForRestart()} removes only what convnet wrote there.
 */
public final class RunDir {
    private static final String CONFIG = "config.yaml",
            CLASSES = "classes.txt",
            METRICS = "metrics.csv",
            CHECKPOINTS = "checkpoints",
            MODEL = "model",
            TEST = "test",
            PLOTS = "plots",
            LOCK = ".lock",
            EVENTS_PREFIX = "events.out.tfevents.";
    /** What a run writes at the top of its folder besides its log file: a folder holding only these (or empty) may be trained in. */
    private static final Set<String> OWN = Set.of(CONFIG, CLASSES, METRICS, CHECKPOINTS, MODEL, TEST, PLOTS, LOCK);

    /** The log file's name when the config names none ({@code train.log_file}). */
    public static final String DEFAULT_LOG = "train.log";

    /** What {@code convnet test} writes into {@link #test()}. */
    public static final List<String> TEST_FILES = List.of("confusion.csv", "confusion.png", "report.csv");

    private final Path root;

    /** Whether {@code name} is one the run directory uses itself (so no log file may take it). */
    public static boolean isReserved(String name) {
        return OWN.contains(name) || name.startsWith(EVENTS_PREFIX);
    }

    public RunDir(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public Path config() {
        return root.resolve(CONFIG);
    }

    public Path classes() {
        return root.resolve(CLASSES);
    }

    public Path metrics() {
        return root.resolve(METRICS);
    }

    public Path checkpointsDir() {
        return root.resolve(CHECKPOINTS);
    }

    public Checkpoints checkpoints() {
        return new Checkpoints(checkpointsDir());
    }

    /** The model bundle that {@code test} and {@code predict} load. */
    public Path model() {
        return root.resolve(MODEL);
    }

    /** Where {@code test} writes its confusion matrix. */
    public Path test() {
        return root.resolve(TEST);
    }

    public Path plots() {
        return root.resolve(PLOTS);
    }

    public Path log(String name) {
        return root.resolve(name);
    }

    /** TensorBoard's event file name for a run started at {@code startSeconds} on {@code host}. */
    public Path newEvents(long startSeconds, String host) {
        return root.resolve(EVENTS_PREFIX + startSeconds + "." + host);
    }

    /** The run's TensorBoard event file, if it has one. */
    public Path existingEvents() {
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> p.getFileName().toString().startsWith(EVENTS_PREFIX))
                    .sorted()
                    .findFirst()
                    .orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether {@code path} is named as a run directory's model bundle folder ({@code RUN/model}); it need not exist. */
    public static boolean isModelFolderName(Path path) {
        return path.getFileName() != null && path.getFileName().toString().equals(MODEL);
    }

    /** The model bundle of {@code path}: the folder itself if it holds one, else the run directory's {@code model/}. */
    public static Path bundleOf(Path path) {
        return ModelBundle.exists(path) ? path : new RunDir(path).model();
    }

    public boolean exists() {
        return Files.isDirectory(root);
    }

    /**
     * Refuses a folder that training must not write into: a file, or a folder that is neither a convnet run
     * (one with {@code config.yaml} and {@code classes.txt}) nor empty — a leftover {@code .lock} or log file
     * of a start that never got going counts as empty. Reads only.
     */
    public void checkUsable(String logFile) {
        if (Files.exists(root) && !Files.isDirectory(root))
            throw new UserException(root + " is a file, not a run directory");
        if (!Files.isDirectory(root) || isRun()) return;
        List<String> foreign;
        try (Stream<Path> s = Files.list(root)) {
            foreign = s.map(p -> p.getFileName().toString())
                    .filter(n -> !n.equals(LOCK) && !n.equals(logFile))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UserException("cannot read run directory " + root + ": " + e.getMessage());
        }
        if (!foreign.isEmpty()) {
            throw new UserException(root.toAbsolutePath().normalize()
                    + " is not empty and is not a convnet run (it holds "
                    + String.join(", ", foreign.subList(0, Math.min(5, foreign.size())))
                    + (foreign.size() > 5 ? " and " + (foreign.size() - 5) + " more" : "")
                    + "); train into a new or empty folder (--run DIR)");
        }
    }

    /** Whether the lock file is there (a start that creates it, and is then refused, removes it again). */
    public boolean hasLockFile() {
        return Files.exists(root.resolve(LOCK));
    }

    /** Removes the lock file (after the lock is released), for a refused start that created it. */
    public void removeLockFile() {
        try {
            Files.deleteIfExists(root.resolve(LOCK));
        } catch (IOException ignored) {
            // harmless: an empty lock file
        }
    }

    /** Whether this folder was written by a convnet run. */
    public boolean isRun() {
        return Files.isRegularFile(config()) && Files.isRegularFile(classes());
    }

    /**
     * Removes an earlier run's checkpoints, model bundle and metrics for {@code --restart}: only the files
     * convnet writes; anything else in those folders stays.
     */
    public void clearForRestart() {
        try {
            List<String> removed = new ArrayList<>();
            if (checkpoints().any()) removed.add("checkpoints");
            checkpoints().clear();
            if (ModelBundle.exists(model())) removed.add("the model bundle");
            ModelBundle.delete(model());
            if (Files.deleteIfExists(metrics())) removed.add(METRICS);
            boolean tested = false;
            for (String f : TEST_FILES) tested |= Files.deleteIfExists(test().resolve(f));
            if (tested) removed.add("the test results");
            Dirs.deleteIfEmpty(test());
            LoggerFactory.getLogger(RunDir.class)
                    .info(
                            "--restart: {}",
                            removed.isEmpty()
                                    ? "nothing to remove"
                                    : "removed " + String.join(", ", removed) + " of the earlier run");
        } catch (IOException e) {
            throw new UserException("cannot clear " + root + " for --restart: " + e.getMessage());
        }
    }

    /** Creates the folder if needed and locks it against a second convnet process; closing the lock releases it. */
    public Lock lock() {
        try {
            Files.createDirectories(root);
            FileChannel channel =
                    FileChannel.open(root.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l;
            try {
                l = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) {
                channel.close();
                throw new UserException(root + " is in use by another convnet process (the run directory is locked)");
            }
            return new Lock(channel, l);
        } catch (IOException e) {
            throw new UserException("cannot create run directory " + root + ": " + e.getMessage());
        }
    }

    /** A held run-directory lock. */
    public static final class Lock implements AutoCloseable {
        private final FileChannel channel;
        private final FileLock lock;

        private Lock(FileChannel channel, FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }

        @Override
        public void close() {
            try {
                if (lock.isValid()) lock.release();
                channel.close();
            } catch (IOException ignored) {
                // the lock goes with the process anyway
            }
        }
    }
}
