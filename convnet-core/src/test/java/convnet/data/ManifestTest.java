package convnet.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import convnet.TestData;
import convnet.UserException;
import convnet.io.Csv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Datasets listed in a file: a CSV manifest (path,label) and an ImageNet-style flat folder with a labels file,
 * on real flower photos under awkward names; and each bad input in one message naming the file and line.
 */
class ManifestTest {
    static final String COMMA_DIR = "my photos, 2024",
            QUOTE_NAME = "say \"rose\" 1.jpg",
            NEWLINE_NAME = "two\nlines.jpg";

    @TempDir
    Path tmp;

    /** Three daisies and three roses: {@code daisy/*} kept, the roses renamed into a folder with a comma. */
    Path data;

    List<Path> daisies, roses;

    @BeforeEach
    void images() throws Exception {
        data = TestData.subset("flowers5-128", tmp.resolve("data"), 3, "daisy", "rose");
        daisies = list(data.resolve("daisy"));
        Path odd = Files.createDirectories(data.resolve(COMMA_DIR));
        List<Path> r = list(data.resolve("rose"));
        Files.move(r.get(0), odd.resolve(QUOTE_NAME));
        Files.move(r.get(1), odd.resolve(NEWLINE_NAME));
        Files.move(r.get(2), odd.resolve("plain.jpg"));
        roses = List.of(odd.resolve(QUOTE_NAME), odd.resolve(NEWLINE_NAME), odd.resolve("plain.jpg"));
        Files.delete(data.resolve("rose"));
    }

    static List<Path> list(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    Path write(String name, String text) throws Exception {
        Path f = data.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    String rel(Path p) {
        return data.relativize(p).toString();
    }

    /** The message of the user error that reading {@code path} (with {@code labels}, onto {@code classes}) gives. */
    static String error(Path path, Path labels, List<String> classes) {
        return assertThrows(UserException.class, () -> Dataset.read(path, labels, classes))
                .getMessage();
    }

    static void assertContains(String expected, String actual) {
        assertTrue(actual.contains(expected), "expected '" + expected + "' in: " + actual);
    }

    @Test
    void aManifestWithQuotedPathsCrlfExtraColumnsAndAnAbsolutePath() throws Exception {
        // label first, an extra column, CRLF, a BOM; quoted fields with a comma, doubled quotes and a line break
        Path m = write(
                "train.csv",
                "\uFEFFsource, Label ,path\r\n"
                        + "web,rose,\"" + COMMA_DIR + "/say \"\"rose\"\" 1.jpg\"\r\n"
                        + "web,daisy," + rel(daisies.get(0)) + "\r\n"
                        + "\r\n"
                        + "\"a, b\",rose,\"" + COMMA_DIR + "/two\nlines.jpg\"\r\n"
                        + "x,daisy," + daisies.get(1).toAbsolutePath() + "\r\n"
                        + "x,rose,\"" + COMMA_DIR + "/plain.jpg\"\r\n"
                        + "x,daisy,../data/daisy/" + daisies.get(2).getFileName() + "\r\n");
        Dataset d = Dataset.read(m, null, null);
        assertEquals(List.of("daisy", "rose"), d.classes());
        assertEquals(
                List.of(
                        new Sample(roses.get(0).toAbsolutePath(), 1),
                        new Sample(daisies.get(0).toAbsolutePath(), 0),
                        new Sample(roses.get(1).toAbsolutePath(), 1),
                        new Sample(daisies.get(1).toAbsolutePath(), 0),
                        new Sample(roses.get(2).toAbsolutePath(), 1),
                        new Sample(daisies.get(2).toAbsolutePath(), 0)),
                d.samples());
        assertTrue(Manifest.is(m));
        assertTrue(Dataset.isList(m, null));
    }

    @Test
    void aValidationManifestTakesTheTrainingClassesAndAnUnknownLabelIsNamedWithItsLine() throws Exception {
        Path m =
                write("val.csv", "path,label\n" + rel(daisies.get(0)) + ",daisy\n\"" + rel(roses.get(2)) + "\",rose\n");
        Dataset d = Dataset.read(m, null, List.of("daisy", "rose", "tulip"));
        assertEquals(List.of("daisy", "rose", "tulip"), d.classes());
        assertEquals(List.of(0, 1), d.samples().stream().map(Sample::label).toList());

        Path bad = write(
                "bad-val.csv", "path,label\n" + rel(daisies.get(0)) + ",daisy\n" + rel(daisies.get(1)) + ",tulip\n");
        assertEquals(
                bad + " line 3: label 'tulip' is not among the training classes [daisy, rose]",
                error(bad, null, List.of("daisy", "rose")));
    }

    @Test
    void eachBadManifestIsOneMessageWithItsFileAndLine() throws Exception {
        String ok = rel(daisies.get(0));
        Path noHeader = write("a.csv", ok + ",daisy\n" + rel(roses.get(2)) + ",rose\n");
        assertEquals(
                noHeader + " line 1: expected a header naming the columns path and label (e.g. path,label), found '"
                        + ok + ",daisy'",
                error(noHeader, null, null));

        Path columns = write("b.csv", "path,label\n" + ok + ",daisy\n" + ok + ",daisy,extra\n");
        assertEquals(
                columns + " line 3: expected 2 fields as the header has (path,label), found 3",
                error(columns, null, null));
        Path oneColumn = write("b1.csv", "path,label\r\n" + ok + "\r\n");
        assertContains(
                " line 2: expected 2 fields as the header has (path,label), found 1", error(oneColumn, null, null));

        Path quote = write("c.csv", "path,label\n" + ok + ",daisy\n\"" + ok + ",daisy\n" + ok + ",rose\n");
        assertContains(quote + " line 3: a quoted field is not closed", error(quote, null, null));
        Path quoteMid = write("c2.csv", "path,label\n\"" + ok + ",daisy\n\"" + ok + "\",daisy\n");
        assertContains(
                quoteMid + " line 2: the quoted field opened here closes on line 3 and is followed by '" + ok.charAt(0)
                        + "' after its closing quote",
                error(quoteMid, null, null));
        Path afterQuote = write("c3.csv", "path,label\n\"" + ok + "\" ,daisy\n");
        assertContains(
                afterQuote + " line 2: the quoted field opened here is followed by ' ' after its closing quote",
                error(afterQuote, null, null));

        Path missing = write("d.csv", "path,label\n" + ok + ",daisy\n\"no such, photo.jpg\",rose\n");
        assertEquals(
                missing + " line 3: image 'no such, photo.jpg' not found (no file "
                        + data.toAbsolutePath().resolve("no such, photo.jpg") + ")",
                error(missing, null, null));

        Path newline = write("d2.csv", "path,label\n\"no\nsuch.jpg\",daisy\n");
        String oneLine = error(newline, null, null);
        assertEquals(
                newline + " line 2: image 'no\\nsuch.jpg' not found (no file "
                        + data.toAbsolutePath().resolve("no\\nsuch.jpg") + ")",
                oneLine);

        Path folder = write("e.csv", "path,label\ndaisy,daisy\n");
        assertEquals(folder + " line 2: 'daisy' is a folder, not an image file", error(folder, null, null));

        Path emptyLabel = write("f.csv", "path,label\n" + ok + ",\n");
        assertEquals(
                emptyLabel + " line 2: the label of '" + ok + "' is empty (expected a class name)",
                error(emptyLabel, null, null));

        Path emptyPath = write("g.csv", "path,label\n,daisy\n");
        assertEquals(emptyPath + " line 2: the path is empty", error(emptyPath, null, null));

        Path noRows = write("h.csv", "path,label\n\n");
        assertEquals(
                noRows + ": lists no images (expected rows of path,label after the header)", error(noRows, null, null));

        Path empty = write("i.csv", "");
        assertContains(empty + ": empty (expected a header path,label", error(empty, null, null));

        Path twice = write("j.csv", "path,label\n" + ok + ",daisy\n" + ok + ",rose\n");
        assertEquals(
                twice + " line 3: '" + ok + "' is labelled 'rose', but line 2 lists it as 'daisy'",
                error(twice, null, null));

        Path absent = data.resolve("absent.csv");
        assertEquals("manifest not found: " + absent, error(absent, null, null));
    }

    @Test
    void aRowAfterAQuotedLineBreakIsNamedByTheLineItStartsOn() {
        List<Csv.Row> rows = Csv.rows("path,label\r\n\"a\nb.jpg\",x\r\n\r\nc.jpg,\"y\"\n", "t");
        assertEquals(List.of(1, 2, 5), rows.stream().map(Csv.Row::line).toList());
        assertEquals(List.of("a\nb.jpg", "x"), rows.get(1).fields());
        UserException e = assertThrows(UserException.class, () -> Csv.rows("a,b\n\"x\ny\",z\n\"open,\nmore\n", "t"));
        assertTrue(e.getMessage().startsWith("t line 4: a quoted field is not closed"), e.getMessage());
    }

    /** A flat folder as ImageNet's validation set: the images side by side, their classes in a labels file. */
    Path flat() throws Exception {
        Path val = Files.createDirectories(tmp.resolve("val"));
        Files.copy(daisies.get(0), val.resolve("ILSVRC2012_val_00000001.JPEG"));
        Files.copy(roses.get(0), val.resolve("ILSVRC2012_val_00000002.JPEG"));
        Files.copy(daisies.get(1), val.resolve("img 3.jpg"));
        return val;
    }

    @Test
    void aFlatFolderWithATextLabelsFile() throws Exception {
        Path val = flat();
        Path labels = tmp.resolve("val_labels.txt");
        Files.writeString(
                labels,
                "ILSVRC2012_val_00000001.JPEG daisy\r\n\r\n  ILSVRC2012_val_00000002.JPEG\trose  \r\nILSVRC2012_val_00000001 daisy\n");
        Dataset d = Dataset.read(val, labels, List.of("daisy", "rose"));
        Path abs = val.toAbsolutePath();
        assertEquals(
                List.of(
                        new Sample(abs.resolve("ILSVRC2012_val_00000001.JPEG"), 0),
                        new Sample(abs.resolve("ILSVRC2012_val_00000002.JPEG"), 1),
                        new Sample(abs.resolve("ILSVRC2012_val_00000001.JPEG"), 0)),
                d.samples());

        Files.writeString(labels, "filename label\nILSVRC2012_val_00000001.JPEG daisy\nimg 3.jpg daisy\n");
        assertEquals(
                labels + " line 3: expected 'filename label' (two fields separated by spaces), found 3",
                error(val, labels, List.of("daisy", "rose")));
        Files.writeString(labels, "ILSVRC2012_val_00000001.JPEG,daisy\n");
        assertEquals(
                labels + " line 1: expected 'filename label' (two fields separated by spaces), found 1; a labels file"
                        + " of filename,label rows is read as CSV when its name ends in .csv",
                error(val, labels, List.of("daisy", "rose")));
        Files.writeString(labels, "ILSVRC2012_val_00000001.JPEG daisy\nILSVRC2012_val_00000002.JPEG n04522168\n");
        assertEquals(
                labels + " line 2: label 'n04522168' is not among the training classes [daisy, rose]",
                error(val, labels, List.of("daisy", "rose")));
        Files.writeString(labels, "ILSVRC2012_val_00000009.JPEG daisy\n");
        assertEquals(
                labels + " line 1: image 'ILSVRC2012_val_00000009.JPEG' not found (no file "
                        + abs.resolve("ILSVRC2012_val_00000009.JPEG") + ")",
                error(val, labels, List.of("daisy", "rose")));
        assertEquals(
                "labels file not found: " + tmp.resolve("nope.txt"),
                error(val, tmp.resolve("nope.txt"), List.of("daisy")));
        assertContains("image folder not found: " + tmp.resolve("nope"), error(tmp.resolve("nope"), labels, null));
    }

    @Test
    void imageNetsLocValSolutionCsvAsItComesAndPlainCsvLabels() throws Exception {
        Path val = flat();
        Path loc = tmp.resolve("LOC_val_solution.csv");
        Files.writeString(
                loc,
                "ImageId,PredictionString\n"
                        + "ILSVRC2012_val_00000002,rose 12 40 100 120 rose 3 4 50 60 \n"
                        + "ILSVRC2012_val_00000001,daisy 1 2 30 40\n");
        Dataset d = Dataset.read(val, loc, List.of("daisy", "rose"));
        Path abs = val.toAbsolutePath();
        assertEquals(
                List.of(
                        new Sample(abs.resolve("ILSVRC2012_val_00000002.JPEG"), 1),
                        new Sample(abs.resolve("ILSVRC2012_val_00000001.JPEG"), 0)),
                d.samples());

        Path csv = tmp.resolve("labels.csv");
        Files.writeString(csv, "\"img 3.jpg\",daisy\nILSVRC2012_val_00000002.JPEG,rose\n");
        Dataset plain = Dataset.read(val, csv, null);
        assertEquals(List.of("daisy", "rose"), plain.classes());
        assertEquals(
                List.of(
                        new Sample(abs.resolve("img 3.jpg"), 0),
                        new Sample(abs.resolve("ILSVRC2012_val_00000002.JPEG"), 1)),
                plain.samples());

        Files.writeString(csv, "img 3.jpg,daisy,extra\n");
        assertEquals(csv + " line 1: expected 2 fields (filename,label), found 3", error(val, csv, null));
        Files.writeString(csv, "file,label\n\"img 3.jpg,daisy\n");
        assertContains(csv + " line 2: a quoted field is not closed", error(val, csv, null));
        Files.writeString(csv, "img 3.jpg,\n");
        assertEquals(csv + " line 1: the label of 'img 3.jpg' is empty (expected a class name)", error(val, csv, null));
    }

    @Test
    void aManifestTrainSetSplitsStratifiedAndTakesAnyFormOfValidationSet() throws Exception {
        StringBuilder m = new StringBuilder("path,label\n");
        for (Path p : daisies) m.append('"').append(rel(p)).append("\",daisy\n");
        for (Path p : roses) m.append('"').append(rel(p).replace("\"", "\"\"")).append("\",rose\n");
        Path train = write("train.csv", m.toString());

        DataSplit split = DataSplit.of(train, null, 0.34, 7);
        assertEquals(List.of("daisy", "rose"), split.classes());
        assertEquals(4, split.train().size());
        assertEquals(
                List.of(0, 1), split.val().stream().map(Sample::label).sorted().toList());
        assertEquals(split.val(), DataSplit.of(train, null, 0.34, 7).val(), "the split is a function of the seed");

        Path val = flat(), labels = tmp.resolve("val_labels.txt");
        Files.writeString(labels, "ILSVRC2012_val_00000001.JPEG daisy\nILSVRC2012_val_00000002.JPEG rose\n");
        DataSplit withVal = DataSplit.of(train, null, val, labels, 0.2, 7);
        assertEquals(6, withVal.train().size());
        assertEquals(List.of(0, 1), withVal.val().stream().map(Sample::label).toList());

        // a flat training folder with its labels file (train_labels): the classes are its labels, sorted
        Path trainLabels = tmp.resolve("train_labels.csv");
        Files.writeString(
                trainLabels,
                "filename,label\nILSVRC2012_val_00000002.JPEG,rose\n\"img 3.jpg\",daisy\nILSVRC2012_val_00000001.JPEG,daisy\n");
        DataSplit flatTrain = DataSplit.of(val, trainLabels, train, null, 0.2, 7);
        assertEquals(List.of("daisy", "rose"), flatTrain.classes());
        assertEquals(
                List.of(1, 0, 0), flatTrain.train().stream().map(Sample::label).toList());
        assertEquals(6, flatTrain.val().size());

        // a folder-per-class training set with a manifest for validation
        Path folder = TestData.subset("flowers5-128", tmp.resolve("folder"), 2, "daisy", "rose");
        Path folderVal = write("val.csv", "path,label\n\"" + rel(roses.get(2)) + "\",rose\n");
        DataSplit mixed = DataSplit.of(folder, null, folderVal, null, 0.2, 7);
        assertEquals(List.of("daisy", "rose"), mixed.classes());
        assertEquals(4, mixed.train().size());
        assertEquals(List.of(new Sample(roses.get(2).toAbsolutePath(), 1)), mixed.val());
    }
}
