package convnet.data;

import convnet.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A folder-per-class dataset: each sub-folder of the root is a class (its name is the label,
 * classes sorted by name), and every image file below it, at any depth, is a sample.
 */
public final class ImageFolder {
    static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff", "webp");

    public final Path root;
    public final List<String> classes;
    public final List<Sample> samples;

    private ImageFolder(Path root, List<String> classes, List<Sample> samples) {
        this.root = root;
        this.classes = classes;
        this.samples = samples;
    }

    /** Scans {@code root}; with {@code classes} given, folders are mapped onto that list (others are an error). */
    public static ImageFolder scan(Path root, List<String> classes) {
        if (!Files.isDirectory(root)) {
            throw new UserException("dataset folder not found: " + root);
        }
        List<String> found = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(root)) {
            dirs.filter(Files::isDirectory)
                    .map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith("."))
                    .sorted()
                    .forEach(found::add);
        } catch (IOException e) {
            throw new UserException("cannot list dataset folder " + root + ": " + e.getMessage());
        }
        if (found.isEmpty()) {
            throw new UserException(root + ": no class folders found (expected one sub-folder of images per class)");
        }
        List<String> names = classes == null ? found : classes;
        List<Sample> samples = new ArrayList<>();
        for (String name : found) {
            int label = names.indexOf(name);
            if (label < 0) {
                throw new UserException(
                        root.resolve(name) + ": class '" + name + "' is not among the training classes " + names);
            }
            List<Path> files = listImages(root.resolve(name));
            if (files.isEmpty()) {
                throw new UserException(root.resolve(name) + ": class folder holds no images");
            }
            for (Path f : files) samples.add(new Sample(f, label));
        }
        return new ImageFolder(root, List.copyOf(names), samples);
    }

    static List<Path> listImages(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .filter(ImageFolder::looksLikeImage)
                    .sorted()
                    .toList();
        } catch (IOException | UncheckedIOException e) {
            throw new UserException("cannot list " + dir + ": " + e.getMessage());
        }
    }

    /**
     * Files below {@code dir} whose content is an image (by magic number), sorted. Unreadable and empty files,
     * and files named like images whose content is not one, are added to {@code skipped} as {file, reason};
     * with {@code reportAll}, so are all other files (hidden ones included), as "not an image".
     */
    public static List<Path> findImages(Path dir, List<String[]> skipped, boolean reportAll) {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                boolean hidden = f.getFileName().toString().startsWith(".");
                if (hidden && !reportAll) continue;
                String why = notAnImage(f);
                if (why == null) {
                    out.add(f);
                } else if (reportAll || looksLikeImage(f) || !why.equals(NOT_AN_IMAGE)) {
                    skipped.add(new String[] {
                        f.toString(),
                        why.equals(NOT_AN_IMAGE) && looksLikeImage(f)
                                ? "named like an image but its content is not one"
                                : why
                    });
                }
            }
        } catch (IOException | UncheckedIOException e) {
            throw new UserException("cannot list " + dir + ": " + e.getMessage());
        }
        return out;
    }

    private static final String NOT_AN_IMAGE = "not an image";

    /** Null if {@code f} starts like an image, else why not. */
    private static String notAnImage(Path f) {
        byte[] head = new byte[16];
        int n;
        try (InputStream in = Files.newInputStream(f)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            return "cannot read: " + e.getMessage();
        }
        if (n == 0) return "empty file (0 bytes)";
        return Images.sniff(Arrays.copyOf(head, n)) == null ? NOT_AN_IMAGE : null;
    }

    static boolean looksLikeImage(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /** A reproducible stratified split: {@code fraction} of each class goes to validation. */
    public static List<List<Sample>> split(List<Sample> samples, int numClasses, double fraction, long seed) {
        List<List<Sample>> byClass = new ArrayList<>();
        for (int c = 0; c < numClasses; c++) byClass.add(new ArrayList<>());
        for (Sample s : samples) byClass.get(s.label()).add(s);
        List<Sample> train = new ArrayList<>(), val = new ArrayList<>();
        for (int c = 0; c < numClasses; c++) {
            List<Sample> list = byClass.get(c);
            Collections.shuffle(list, new Random(seed * 1_000_003L + c));
            int nVal = (int) Math.round(list.size() * fraction);
            if (fraction > 0 && list.size() > 1) nVal = Math.max(1, Math.min(nVal, list.size() - 1));
            val.addAll(list.subList(0, nVal));
            train.addAll(list.subList(nVal, list.size()));
        }
        return List.of(train, val);
    }
}
