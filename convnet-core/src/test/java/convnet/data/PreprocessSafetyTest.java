package convnet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TestData;
import convnet.UserException;
import convnet.engine.Engine;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** preprocess never merges classes silently, never writes into its source, and commits all or nothing. */
class PreprocessSafetyTest {
    @BeforeAll
    static void engine() {
        Engine.start(2);
    }

    static Preprocess.Report run(Path src, Path dst, int size) {
        return Preprocess.run(
                src,
                dst,
                new Preprocess.Options(0.25, size, Preprocess.Mode.STRETCH, 1, "^\\d+\\.(.+)$", 2, 90),
                n -> {});
    }

    @Test
    void classFoldersThatGiveTheSameNameAreRefused(@TempDir Path tmp) throws Exception {
        Path src = tmp.resolve("src");
        TestData.subset("flowers5-128", src, 2, "rose", "daisy");
        Files.move(src.resolve("rose"), src.resolve("001.rose"));
        Files.move(src.resolve("daisy"), src.resolve("002.rose")); // daisies under a colliding name
        UserException e = assertThrows(UserException.class, () -> run(src, tmp.resolve("out"), 32));
        assertTrue(e.getMessage().contains("'001.rose'") && e.getMessage().contains("'002.rose'"), e.getMessage());
        Files.move(src.resolve("002.rose"), src.resolve("rose"));
        e = assertThrows(UserException.class, () -> run(src, tmp.resolve("out"), 32));
        assertTrue(e.getMessage().contains("'001.rose'") && e.getMessage().contains("'rose'"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("out/train.csv")), "nothing was written");
    }

    @Test
    void theDestinationMayNotBeTheSourceOrInsideIt(@TempDir Path tmp) throws Exception {
        Path src = TestData.subset("flowers5-128", tmp.resolve("src"), 2, "rose", "daisy");
        for (Path dst : List.of(src, src.resolve("out"), src.resolve("rose/deeper"))) {
            UserException e = assertThrows(UserException.class, () -> run(src, dst, 32));
            assertTrue(e.getMessage().contains("source"), e.getMessage());
        }
        Path link = tmp.resolve("link");
        Files.createSymbolicLink(link, src);
        UserException e = assertThrows(UserException.class, () -> run(src, link.resolve("out"), 32));
        assertTrue(e.getMessage().contains("inside the source"), e.getMessage());
        assertThrows(
                UserException.class,
                () -> run(src.resolve("rose").getParent(), tmp, 32),
                "the source inside the destination");
        try (Stream<Path> s = Files.list(src)) {
            assertEquals(
                    List.of("daisy", "rose"),
                    s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "the source is untouched");
        }
    }

    /**
     * A process killed while moving a committed output into place (here: after the first entry moved) leaves
     * a state the next reader finishes: the folder then holds exactly the new output, none of the old.
     */
    @Test
    @convnet.NeedsSharedData
    void aCommitInterruptedHalfWayIsFinishedByTheNextReader(@TempDir Path tmp) throws Exception {
        Path src = TestData.subset("caltech101-10", tmp.resolve("src"), 4, "dolphin", "lotus");
        Path out = tmp.resolve("out"), fresh = tmp.resolve("fresh");
        run(src, out, 32);
        run(src, fresh, 48); // what a second run into `out` would have committed
        Path pending = out.resolve(".preprocess-commit"), old = out.resolve(".preprocess-old");
        Files.createDirectories(old);
        Files.move(fresh, pending);
        // killed after the first entry (images/) moved: the old images aside, the new ones in place, the old tables
        // still there
        Files.move(out.resolve("images"), old.resolve("images"));
        Files.move(pending.resolve("images"), out.resolve("images"));
        byte[] newTrain = Files.readAllBytes(pending.resolve("train.csv"));
        assertTrue(ProcessedDir.is(out));
        ProcessedDir p = ProcessedDir.read(out);
        assertArrayEquals(newTrain, Files.readAllBytes(out.resolve("train.csv")));
        assertFalse(Files.exists(pending) || Files.exists(old), "the commit is finished and the old output gone");
        for (Sample s : p.train) {
            BufferedImage img = ImageIO.read(s.file().toFile());
            assertEquals(48, img.getWidth(), s.file() + " is from the new output");
        }
        // and a new run over a finished commit replaces everything again, leaving no temporary folders
        run(src, out, 40);
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(
                    List.of(
                            "categories.csv",
                            "duplicates.csv",
                            "images",
                            "rgb_mean.json",
                            "skipped.csv",
                            "train.csv",
                            "val.csv"),
                    s.map(q -> q.getFileName().toString()).sorted().toList());
        }
    }
}
