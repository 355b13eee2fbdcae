package convnet.data;

import static org.bytedeco.opencv.global.opencv_imgcodecs.IMWRITE_JPEG_QUALITY;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import convnet.UserException;
import convnet.data.transform.Transforms;
import convnet.io.AtomicFiles;
import convnet.io.Csv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * The {@code preprocess} step: a folder-per-class tree → resized RGB JPEGs, a stratified
 * train/validation split ({@code train.csv}, {@code val.csv}), {@code categories.csv},
 * {@code rgb_mean.json} (mean and std over the training pixels only) and {@code skipped.csv}.
 * Images are found by content, not only by extension. Runs on all cores; every file is written
 * atomically; the same input and options give byte-identical output.
 */
public final class Preprocess {
    public enum Mode {
        CENTER_CROP,
        SMALLER_SIDE,
        STRETCH
    }

    /**
     * @param labelPattern a regex whose first group is the label taken from a folder name
     *                     ({@code ^\d+\.(.+)$} turns Caltech-256's {@code 001.ak47} into {@code ak47}); folders it does not match keep their name
     */
    public record Options(
            double valFraction, int size, Mode mode, long seed, String labelPattern, int threads, int jpegQuality) {}

    public record Report(
            int classes,
            int train,
            int val,
            List<String[]> skipped,
            double seconds,
            double[] mean,
            double[] std,
            List<String[]> duplicates) {}

    private record Item(Path source, String label, int classIndex) {}

    private record Done(
            Item item, String output, double[] sum, double[] sumSq, long pixels, String error, String sha) {}

    /** {@link #run(Path, Path, Path, Options, IntConsumer)} without a labels file. */
    public static Report run(Path src, Path dst, Options o, IntConsumer progress) {
        return run(src, null, dst, o, progress);
    }

    /**
     * Preprocesses {@code src} into {@code dst}: a folder per class (labels from {@code labelPattern}), a CSV
     * manifest, or with {@code labelsFile} a flat folder and its labels file ({@link Dataset#read}; their labels are
     * used as they are).
     */
    public static Report run(Path src, Path labelsFile, Path dst, Options o, IntConsumer progress) {
        long t0 = System.nanoTime();
        boolean listed = Dataset.isList(src, labelsFile);
        Dataset list = listed ? Dataset.read(src, labelsFile, null) : null;
        // paths in skipped.csv and duplicates.csv are shown relative to the folder the source names them from
        Path from = !listed
                ? src
                : labelsFile != null
                        ? src.toAbsolutePath().normalize()
                        : src.toAbsolutePath().normalize().getParent();
        if (listed) checkListPaths(labelsFile != null ? labelsFile : src, from, list.samples(), dst);
        else checkPaths(src, dst);
        PreprocessCommit.recover(dst); // an earlier run killed while committing is finished first
        List<String[]> skipped = new ArrayList<>();
        Map<String, List<Path>> byLabel =
                listed ? byLabel(list) : classes(src, Pattern.compile(o.labelPattern()), skipped);
        List<String> labels = new ArrayList<>(byLabel.keySet());
        List<Sample> all = new ArrayList<>();
        for (int c = 0; c < labels.size(); c++) {
            List<Path> files = byLabel.get(labels.get(c));
            files.sort(Comparator.naturalOrder());
            if (files.isEmpty()) skipped.add(new String[] {labels.get(c), "class folder holds no images"});
            for (Path f : files) all.add(new Sample(f, c));
        }
        Set<Path> valFiles = new HashSet<>();
        for (Sample s :
                ImageFolder.split(all, labels.size(), o.valFraction(), o.seed()).get(1)) valFiles.add(s.file());
        List<Item> items = new ArrayList<>();
        for (Sample s : all) items.add(new Item(s.file(), labels.get(s.label()), s.label()));
        // the whole output is made in a staging folder, then committed into dst by one rename (PreprocessCommit)
        Path staging = PreprocessCommit.staging(dst);
        deleteTree(staging);
        try {
            List<Done> results = convertAll(items, staging, outputNames(items), o, progress);
            Tables t = tables(from, results, valFiles, labels, skipped);
            if (t.nTrain == 0)
                throw new UserException(src + ": no usable training images (" + skipped.size() + " skipped)");
            writeTables(staging, t);
            PreprocessCommit.commit(staging, dst);
            return new Report(
                    labels.size(),
                    t.nTrain,
                    t.nVal,
                    skipped,
                    (System.nanoTime() - t0) / 1e9,
                    t.mean,
                    t.std,
                    t.duplicates);
        } finally {
            deleteTree(staging);
        }
    }

    /** Refuses a destination that is the source, inside it (it would be read as a class next time), or holds it. */
    static void checkPaths(Path src, Path dst) {
        if (!Files.isDirectory(src)) throw new UserException("source folder not found: " + src);
        Path realSrc, realDst;
        try {
            realSrc = src.toRealPath();
            realDst = realDestination(dst);
        } catch (IOException e) {
            throw new UserException("cannot resolve " + src + " or " + dst + ": " + e.getMessage());
        }
        if (realDst.equals(realSrc))
            throw new UserException("the destination " + dst + " is the source folder; choose another");
        if (realDst.startsWith(realSrc)) {
            throw new UserException("the destination " + dst + " is inside the source " + src
                    + " (its images would become a class next time); choose a folder outside it");
        }
        if (realSrc.startsWith(realDst))
            throw new UserException("the source " + src + " is inside the destination " + dst
                    + ", which preprocess replaces; choose another");
    }

    /**
     * For a listed source ({@code list}, a manifest or a labels file, naming images from {@code folder}): refuses
     * a destination that is that folder or holds it, the list or any listed image — preprocess replaces what is in
     * it. A destination inside the folder is allowed: only the listed files are read.
     */
    static void checkListPaths(Path list, Path folder, List<Sample> images, Path dst) {
        Path realDst;
        try {
            realDst = realDestination(dst);
            if (list.toRealPath().startsWith(realDst))
                throw new UserException(
                        "the destination " + dst + " holds " + list + ", and preprocess replaces it; choose another");
            if (folder.toRealPath().startsWith(realDst)) {
                throw new UserException("the destination " + dst + " holds " + folder
                        + ", the folder of the source's list, which preprocess replaces; choose another");
            }
            for (Sample s : images) {
                if (s.file().toRealPath().startsWith(realDst))
                    throw new UserException("the destination " + dst + " holds the listed image " + s.file()
                            + ", and preprocess replaces it; choose another");
            }
        } catch (IOException e) {
            throw new UserException("cannot resolve " + dst + ": " + e.getMessage());
        }
    }

    /** {@code dst} with symbolic links resolved as far as it exists (it may not exist yet). */
    private static Path realDestination(Path dst) throws IOException {
        Path existing = dst.toAbsolutePath().normalize(), rest = Path.of("");
        while (existing != null && !Files.exists(existing)) {
            rest = existing.getFileName().resolve(rest);
            existing = existing.getParent();
        }
        return existing == null
                ? dst.toAbsolutePath().normalize()
                : existing.toRealPath().resolve(rest).normalize();
    }

    /** A listed dataset's files by label, each listed file once. */
    private static Map<String, List<Path>> byLabel(Dataset list) {
        Map<String, Set<Path>> files = new TreeMap<>();
        for (String c : list.classes()) files.put(c, new LinkedHashSet<>());
        for (Sample s : list.samples()) files.get(list.classes().get(s.label())).add(s.file());
        Map<String, List<Path>> out = new TreeMap<>();
        files.forEach((c, f) -> out.put(c, new ArrayList<>(f)));
        return out;
    }

    /** {@code file} relative to {@code from} where it can be, for skipped.csv and duplicates.csv. */
    private static String shown(Path from, Path file) {
        try {
            return from.relativize(file).toString();
        } catch (IllegalArgumentException e) {
            return file.toString();
        }
    }

    /**
     * Class folders of {@code src} by label (the pattern's first group, else the folder's name), with their
     * images. Two folders that give the same label are refused, naming both: their images would merge silently.
     */
    static Map<String, List<Path>> classes(Path src, Pattern pattern, List<String[]> skipped) {
        List<Path> dirs;
        try (Stream<Path> s = Files.list(src)) {
            dirs = s.filter(Files::isDirectory)
                    .filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UserException("cannot list " + src + ": " + e.getMessage());
        }
        if (dirs.isEmpty())
            throw new UserException(src + ": no class folders found (expected one sub-folder of images per class)");
        Map<String, List<Path>> byLabel = new TreeMap<>();
        Map<String, String> folderOf = new LinkedHashMap<>();
        for (Path d : dirs) {
            String folder = d.getFileName().toString();
            Matcher m = pattern.matcher(folder);
            String label = m.matches() && m.groupCount() >= 1 ? m.group(1) : folder;
            String other = folderOf.putIfAbsent(label, folder);
            if (other != null) {
                throw new UserException(
                        src + ": the class folders '" + other + "' and '" + folder + "' both give the class '" + label
                                + "'; rename one, or keep the prefixes (--label-pattern '^(.+)$')");
            }
            byLabel.put(label, new ArrayList<>(ImageFolder.findImages(d, skipped, false)));
        }
        return byLabel;
    }

    /** Converts every image on all threads into {@code staging}; results in input order. */
    private static List<Done> convertAll(
            List<Item> items, Path staging, Map<Path, String> names, Options o, IntConsumer progress) {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, o.threads()));
        AtomicInteger done = new AtomicInteger();
        List<Future<Done>> futures = new ArrayList<>();
        for (Item it : items) {
            futures.add(pool.submit(() -> {
                Done d = process(it, staging, names.get(it.source()), o);
                progress.accept(done.incrementAndGet());
                return d;
            }));
        }
        List<Done> results = new ArrayList<>();
        try {
            for (Future<Done> f : futures) results.add(f.get());
        } catch (Exception e) {
            pool.shutdownNow();
            awaitQuietly(pool);
            Throwable c = e.getCause() != null ? e.getCause() : e;
            if (c instanceof UserException ue) throw ue;
            throw new IllegalStateException(c);
        } finally {
            pool.shutdownNow();
        }
        return results;
    }

    /** The text of the output tables and the training pixels' statistics. */
    private record Tables(
            String train,
            String val,
            String categories,
            String skipped,
            String duplicatesCsv,
            int nTrain,
            int nVal,
            long pixels,
            double[] mean,
            double[] std,
            List<String[]> duplicates) {}

    private static Tables tables(
            Path src, List<Done> results, Set<Path> valFiles, List<String> labels, List<String[]> skipped) {
        Csv train = new Csv("image", "class"), val = new Csv("image", "class");
        double[] sum = new double[3], sq = new double[3];
        long pixels = 0;
        int nTrain = 0, nVal = 0;
        for (Done d : results) { // input order: sorted by class, then file — deterministic
            if (d.error != null) {
                skipped.add(new String[] {shown(src, d.item.source), d.error});
                continue;
            }
            boolean isVal = valFiles.contains(d.item.source);
            (isVal ? val : train).row(d.output, d.item.label);
            if (isVal) {
                nVal++;
                continue;
            }
            nTrain++;
            for (int c = 0; c < 3; c++) {
                sum[c] += d.sum[c];
                sq[c] += d.sumSq[c];
            }
            pixels += d.pixels;
        }
        double[] mean = new double[3], std = new double[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = sum[c] / pixels;
            std[c] = Math.sqrt(Math.max(0, sq[c] / pixels - mean[c] * mean[c]));
        }
        Csv cats = new Csv("id", "label");
        for (int c = 0; c < labels.size(); c++) cats.row(c, labels.get(c));
        Csv skip = new Csv("file", "reason");
        skipped.sort(Comparator.comparing(a -> a[0]));
        for (String[] s : skipped) skip.row((Object[]) s);
        List<String[]> duplicates = duplicates(src, results);
        Csv dup = new Csv("file", "duplicate_of", "classes");
        for (String[] d : duplicates) dup.row((Object[]) d);
        return new Tables(
                train.toString(),
                val.toString(),
                cats.toString(),
                skip.toString(),
                dup.toString(),
                nTrain,
                nVal,
                pixels,
                mean,
                std,
                duplicates);
    }

    /** Files with the same content (SHA-256) as an earlier one: {file, duplicate of, same or different classes}. */
    private static List<String[]> duplicates(Path src, List<Done> results) {
        Map<String, Done> firstByHash = new LinkedHashMap<>();
        List<String[]> duplicates = new ArrayList<>();
        for (Done d : results) {
            if (d.sha == null) continue;
            Done first = firstByHash.putIfAbsent(d.sha, d);
            if (first != null) {
                duplicates.add(new String[] {
                    shown(src, d.item.source),
                    shown(src, first.item.source),
                    d.item.label.equals(first.item.label) ? "same class" : "different classes"
                });
            }
        }
        return duplicates;
    }

    private static void writeTables(Path dir, Tables t) {
        AtomicFiles.writeString(dir.resolve("train.csv"), t.train);
        AtomicFiles.writeString(dir.resolve("val.csv"), t.val);
        AtomicFiles.writeString(dir.resolve("categories.csv"), t.categories);
        AtomicFiles.writeString(dir.resolve("skipped.csv"), t.skipped);
        AtomicFiles.writeString(dir.resolve("duplicates.csv"), t.duplicatesCsv);
        Map<String, Object> rgb = new LinkedHashMap<>();
        rgb.put("mean", round(t.mean, 1.0 / 255));
        rgb.put("std", round(t.std, 1.0 / 255));
        rgb.put("mean_255", round(t.mean, 1));
        rgb.put("std_255", round(t.std, 1));
        rgb.put("train_images", t.nTrain);
        rgb.put("pixels", t.pixels);
        try {
            AtomicFiles.writeString(
                    dir.resolve("rgb_mean.json"),
                    new ObjectMapper()
                                    .enable(SerializationFeature.INDENT_OUTPUT)
                                    .writeValueAsString(rgb) + "\n");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void awaitQuietly(ExecutorService pool) {
        try {
            pool.awaitTermination(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException e) {
            // a leftover staging folder is removed by the next run
        }
    }

    private static List<Double> round(double[] v, double scale) {
        List<Double> out = new ArrayList<>();
        for (double x : v) out.add(Math.round(x * scale * 1e6) / 1e6);
        return out;
    }

    /** Output paths {@code images/<label>/<stem>.jpg}, made unique when two sources share a stem. */
    private static Map<Path, String> outputNames(List<Item> items) {
        Map<Path, String> out = new LinkedHashMap<>();
        Set<String> used = new HashSet<>();
        for (Item it : items) {
            String stem = it.source.getFileName().toString();
            int dot = stem.lastIndexOf('.');
            if (dot > 0) stem = stem.substring(0, dot);
            stem = stem.replaceAll("[^A-Za-z0-9._-]", "_");
            String base = "images/" + folderName(it.label) + "/" + stem, name = base + ".jpg";
            for (int k = 2; !used.add(name.toLowerCase(Locale.ROOT)); k++) name = base + "_" + k + ".jpg";
            out.put(it.source, name);
        }
        return out;
    }

    /**
     * A label as a folder name: separators and control characters become {@code _}, and a label of dots (a
     * manifest may give {@code ..}) gets a {@code _} in front, so that no label leads outside {@code images/}.
     */
    static String folderName(String label) {
        String name = label.replaceAll("[/\\\\\\p{Cntrl}]", "_");
        return name.matches("\\.*") ? "_" + name : name;
    }

    private static Done process(Item it, Path dst, String name, Options o) {
        String sha = null;
        try (PointerScope scope = new PointerScope()) {
            byte[] bytes = Images.read(it.source);
            sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
            Mat img = Images.decode(it.source, bytes);
            Mat out = switch (o.mode()) {
                case STRETCH -> Transforms.resizeTo(img, o.size(), o.size());
                case SMALLER_SIDE -> new Transforms.Resize(o.size(), 0, 0).apply(img, null);
                case CENTER_CROP ->
                    new Transforms.CenterCrop(o.size())
                            .apply(new Transforms.Resize(o.size(), 0, 0).apply(img, null), null);
            };
            if (!out.isContinuous()) out = out.clone();
            int h = out.rows(), w = out.cols();
            byte[] px = new byte[h * w * 3];
            out.data().get(px);
            double[] sum = new double[3], sq = new double[3];
            for (int i = 0; i < px.length; i += 3) {
                for (int c = 0; c < 3; c++) {
                    double v = px[i + 2 - c] & 0xff; // BGR → RGB
                    sum[c] += v;
                    sq[c] += v * v;
                }
            }
            BytePointer buf = new BytePointer();
            if (!imencode(".jpg", out, buf, new IntPointer(IMWRITE_JPEG_QUALITY, o.jpegQuality()))) {
                throw new BadImageException(it.source, "could not be encoded as JPEG");
            }
            byte[] jpeg = new byte[(int) buf.limit()];
            buf.get(jpeg);
            AtomicFiles.writeAtomically(dst.resolve(name), s -> s.write(jpeg));
            return new Done(it, name, sum, sq, (long) h * w, null, sha);
        } catch (BadImageException e) {
            return new Done(it, null, null, null, 0, e.reason, null);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
