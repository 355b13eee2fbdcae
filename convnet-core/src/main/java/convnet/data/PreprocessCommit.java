package convnet.data;

import convnet.UserException;
import convnet.io.AtomicFiles;
import convnet.io.Dirs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * How {@code preprocess} replaces its output without ever showing a mix of old and new: the complete new
 * output is made in {@code DST/.preprocess-staging}, and one rename of that folder to
 * {@code DST/.preprocess-commit} commits it. Moving its entries into place (earlier ones aside to
 * {@code DST/.preprocess-old}, then deleted) happens after that rename and is finished by whoever comes
 * next — the next preprocess, or a reader of the folder — if the process dies half-way, so the output is
 * always either all old or all new.
 */
final class PreprocessCommit {
    private static final String STAGING = ".preprocess-staging",
            PENDING = ".preprocess-commit",
            OLD = ".preprocess-old";

    private PreprocessCommit() {}

    static Path staging(Path dst) {
        return dst.resolve(STAGING);
    }

    /** Commits a complete staged output into {@code dst}. */
    static void commit(Path staging, Path dst) {
        try {
            AtomicFiles.moveAtomically(staging, dst.resolve(PENDING)); // the commit point
        } catch (IOException e) {
            throw new UserException("cannot commit the new output into " + dst + ": " + e.getMessage()
                    + " (the earlier output is intact)");
        }
        recover(dst);
    }

    /** Finishes a commit that a killed process left half done; does nothing when there is none. */
    static void recover(Path dst) {
        Path pending = dst.resolve(PENDING), old = dst.resolve(OLD);
        if (!Files.isDirectory(pending)) return;
        try {
            List<Path> entries;
            try (Stream<Path> s = Files.list(pending)) {
                entries = s.sorted().toList();
            }
            for (Path entry : entries) {
                Path target = dst.resolve(entry.getFileName().toString());
                if (Files.exists(target)) {
                    Files.createDirectories(old);
                    Dirs.deleteTree(old.resolve(entry.getFileName().toString()));
                    AtomicFiles.moveAtomically(
                            target, old.resolve(entry.getFileName().toString()));
                }
                AtomicFiles.moveAtomically(entry, target);
            }
            Files.delete(pending);
            Dirs.deleteTree(old);
        } catch (IOException e) {
            throw new UserException(dst + ": cannot finish an interrupted preprocess commit (" + e.getMessage()
                    + "); run preprocess again");
        }
    }

    /** Whether a committed output waits in {@code dir} to be moved into place. */
    static boolean pending(Path dir) {
        return Files.isDirectory(dir.resolve(PENDING));
    }
}
