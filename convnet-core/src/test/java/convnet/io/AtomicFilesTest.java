package convnet.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    /** A file written atomically gets the permissions any new file gets here (the umask's), not owner-only. */
    @Test
    void writtenFilesHaveTheUmasksPermissions(@TempDir Path dir) throws Exception {
        Path plain = Files.createFile(dir.resolve("plain.txt"));
        Path atomic = dir.resolve("atomic.txt");
        AtomicFiles.writeString(atomic, "first");
        AtomicFiles.writeString(atomic, "second"); // replacing keeps them too
        Set<PosixFilePermission> expected = Files.getPosixFilePermissions(plain);
        assertEquals(expected, Files.getPosixFilePermissions(atomic));
        assertEquals("second", Files.readString(atomic));
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary file left beside them");
        }
    }
}
