package convnet.data;

import static org.bytedeco.opencv.global.opencv_imgcodecs.IMWRITE_JPEG_QUALITY;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import convnet.UserException;
import convnet.data.transform.Ops;
import convnet.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bytedeco.javacpp.BytePointer;
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

    public static Report run(Path src, Path dst, Options o, IntConsumer progress) {
        long t0 = System.nanoTime();
        if (!Files.isDirectory(src)) throw new UserException("source folder not found: " + src);
        if (src.toAbsolutePath().normalize().equals(dst.toAbsolutePath().normalize()))
            throw new UserException("destination must differ from the source");
        Pattern pattern = Pattern.compile(o.labelPattern());
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
        Map<String, List<Path>> byLabel = new java.util.TreeMap<>();
        List<String[]> skipped = new ArrayList<>();
        for (Path d : dirs) {
            String folder = d.getFileName().toString();
            Matcher m = pattern.matcher(folder);
            String label = m.matches() && m.groupCount() >= 1 ? m.group(1) : folder;
            List<Path> files = ImageFolder.findImages(d, skipped, false);
            byLabel.computeIfAbsent(label, k -> new ArrayList<>()).addAll(files);
        }
        List<String> labels = new ArrayList<>(byLabel.keySet());
        List<Sample> all = new ArrayList<>();
        for (int c = 0; c < labels.size(); c++) {
            List<Path> files = byLabel.get(labels.get(c));
            files.sort(Comparator.naturalOrder());
            if (files.isEmpty())
                skipped.add(new String[] {
                    src.relativize(src.resolve(labels.get(c))).toString(), "class folder holds no images"
                });
            for (Path f : files) all.add(new Sample(f, c));
        }
        List<List<Sample>> split = ImageFolder.split(all, labels.size(), o.valFraction(), o.seed());
        Set<Path> valFiles = new HashSet<>();
        for (Sample s : split.get(1)) valFiles.add(s.file());

        List<Item> items = new ArrayList<>();
        for (Sample s : all) items.add(new Item(s.file(), labels.get(s.label()), s.label()));
        Map<Path, String> names = outputNames(items);
        // images go to a staging folder first and replace earlier outputs only once every one was written
        Path staging = dst.resolve(".preprocess-staging");
        deleteTree(staging);
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
            deleteTree(staging);
            Throwable c = e.getCause() != null ? e.getCause() : e;
            if (c instanceof UserException ue) throw ue;
            throw new IllegalStateException(c);
        } finally {
            pool.shutdownNow();
        }
        StringBuilder train = new StringBuilder("image,class\n"), val = new StringBuilder("image,class\n");
        double[] sum = new double[3], sq = new double[3];
        long pixels = 0;
        int nTrain = 0, nVal = 0;
        Map<String, Done> firstByHash = new LinkedHashMap<>();
        List<String[]> duplicates = new ArrayList<>();
        for (Done d : results) {
            if (d.sha == null) continue;
            Done first = firstByHash.putIfAbsent(d.sha, d);
            if (first != null) {
                duplicates.add(new String[] {
                    src.relativize(d.item.source).toString(),
                    src.relativize(first.item.source).toString(),
                    d.item.label.equals(first.item.label) ? "same class" : "different classes"
                });
            }
        }
        for (Done d : results) { // input order: sorted by class, then file — deterministic
            if (d.error != null) {
                skipped.add(new String[] {src.relativize(d.item.source).toString(), d.error});
                continue;
            }
            boolean isVal = valFiles.contains(d.item.source);
            (isVal ? val : train)
                    .append(csv(d.output))
                    .append(',')
                    .append(csv(d.item.label))
                    .append('\n');
            if (isVal) {
                nVal++;
            } else {
                nTrain++;
                for (int c = 0; c < 3; c++) {
                    sum[c] += d.sum[c];
                    sq[c] += d.sumSq[c];
                }
                pixels += d.pixels;
            }
        }
        if (nTrain == 0) throw new UserException(src + ": no usable training images (" + skipped.size() + " skipped)");
        double[] mean = new double[3], std = new double[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = sum[c] / pixels;
            std[c] = Math.sqrt(Math.max(0, sq[c] / pixels - mean[c] * mean[c]));
        }
        StringBuilder cats = new StringBuilder("id,label\n");
        for (int c = 0; c < labels.size(); c++)
            cats.append(c).append(',').append(csv(labels.get(c))).append('\n');
        StringBuilder skip = new StringBuilder("file,reason\n");
        skipped.sort(Comparator.comparing(a -> a[0]));
        for (String[] s : skipped)
            skip.append(csv(s[0])).append(',').append(csv(s[1])).append('\n');
        try {
            for (Done d : results) {
                if (d.output == null) continue;
                Path target = dst.resolve(d.output);
                Files.createDirectories(target.getParent());
                AtomicFiles.moveAtomically(staging.resolve(d.output), target);
            }
        } catch (IOException e) {
            throw new UserException("cannot move the new images into " + dst + ": " + e.getMessage());
        } finally {
            deleteTree(staging);
        }
        AtomicFiles.writeString(dst.resolve("train.csv"), train.toString());
        AtomicFiles.writeString(dst.resolve("val.csv"), val.toString());
        AtomicFiles.writeString(dst.resolve("categories.csv"), cats.toString());
        AtomicFiles.writeString(dst.resolve("skipped.csv"), skip.toString());
        StringBuilder dup = new StringBuilder("file,duplicate_of,classes\n");
        for (String[] d : duplicates)
            dup.append(csv(d[0]))
                    .append(',')
                    .append(csv(d[1]))
                    .append(',')
                    .append(d[2])
                    .append('\n');
        AtomicFiles.writeString(dst.resolve("duplicates.csv"), dup.toString());
        Map<String, Object> rgb = new LinkedHashMap<>();
        rgb.put("mean", round(mean, 1.0 / 255));
        rgb.put("std", round(std, 1.0 / 255));
        rgb.put("mean_255", round(mean, 1));
        rgb.put("std_255", round(std, 1));
        rgb.put("train_images", nTrain);
        rgb.put("pixels", pixels);
        try {
            AtomicFiles.writeString(
                    dst.resolve("rgb_mean.json"),
                    new ObjectMapper()
                                    .enable(SerializationFeature.INDENT_OUTPUT)
                                    .writeValueAsString(rgb) + "\n");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return new Report(labels.size(), nTrain, nVal, skipped, (System.nanoTime() - t0) / 1e9, mean, std, duplicates);
    }

    private static void awaitQuietly(ExecutorService pool) {
        try {
            pool.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS);
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

    static String csv(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n")) return "\"" + s.replace("\"", "\"\"") + "\"";
        return s;
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
            String base = "images/" + it.label.replaceAll("[/\\\\]", "_") + "/" + stem, name = base + ".jpg";
            for (int k = 2; !used.add(name.toLowerCase(Locale.ROOT)); k++) name = base + "_" + k + ".jpg";
            out.put(it.source, name);
        }
        return out;
    }

    private static Done process(Item it, Path dst, String name, Options o) {
        String sha = null;
        try (PointerScope scope = new PointerScope()) {
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(it.source);
            } catch (IOException e) {
                throw new BadImageException(it.source, "cannot read: " + e.getMessage());
            }
            sha = java.util.HexFormat.of()
                    .formatHex(
                            java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
            Mat img = Images.decode(it.source, bytes);
            Mat out = switch (o.mode()) {
                case STRETCH -> Ops.resizeTo(img, o.size(), o.size());
                case SMALLER_SIDE -> new Ops.Resize(o.size(), 0, 0).apply(img, null);
                case CENTER_CROP ->
                    new Ops.CenterCrop(o.size()).apply(new Ops.Resize(o.size(), 0, 0).apply(img, null), null);
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
            if (!imencode(
                    ".jpg", out, buf, new org.bytedeco.javacpp.IntPointer(IMWRITE_JPEG_QUALITY, o.jpegQuality()))) {
                throw new BadImageException(it.source, "could not be encoded as JPEG");
            }
            byte[] jpeg = new byte[(int) buf.limit()];
            buf.get(jpeg);
            AtomicFiles.writeAtomically(dst.resolve(name), s -> s.write(jpeg));
            return new Done(it, name, sum, sq, (long) h * w, null, sha);
        } catch (BadImageException e) {
            return new Done(it, null, null, null, 0, e.reason, null);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
