package convnet.data;

import convnet.UserException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Labelled images in any of the forms that {@code data.train}, {@code data.val}, {@code test --data} and
 * {@code preprocess} take: a folder per class ({@link ImageFolder}), a CSV manifest ({@link Manifest}) or a
 * flat folder of images with a labels file ({@link LabelsFile}).
 *
 * @param classes the class names in label order
 * @param samples the images in the order the dataset lists them
 */
public record Dataset(List<String> classes, List<Sample> samples) {

    /**
     * The images of {@code path}: with {@code labels}, a flat folder whose labels file that is; else a manifest
     * when {@code path} is a {@code .csv} file; else a folder per class. With {@code classes} given (a validation
     * or test set), the labels are mapped onto that list and any other label is an error; without, the classes
     * are the labels found, sorted.
     */
    public static Dataset read(Path path, Path labels, List<String> classes) {
        if (labels != null) return LabelsFile.read(path, labels, classes);
        if (Manifest.is(path)) return Manifest.read(path, classes);
        ImageFolder folder = ImageFolder.scan(path, classes);
        return new Dataset(folder.classes, folder.samples);
    }

    /** Whether {@link #read} takes {@code path} (without a labels file) as a list of images rather than a folder. */
    public static boolean isList(Path path, Path labels) {
        return labels != null || Manifest.is(path);
    }

    /**
     * One image a list names: the line it is on, its path as written there, the file that path means, its label.
     */
    record Entry(int line, String written, Path file, String label) {}

    /**
     * The dataset of a list's entries, checked in the list's order: each names an existing file and a
     * non-empty label, known when {@code classes} is given, and a file listed twice has one label.
     */
    static Dataset of(Path list, List<Entry> entries, List<String> classes, String expected) {
        if (entries.isEmpty()) throw new UserException(list + ": lists no images (expected " + expected + ")");
        List<String> names = classes != null
                ? classes
                : entries.stream().map(Entry::label).distinct().sorted().toList();
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < names.size(); i++) index.putIfAbsent(names.get(i), i);
        Map<Path, Entry> seen = new HashMap<>();
        List<Sample> samples = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            String where = list + " line " + e.line() + ": ", written = oneLine(e.written());
            if (e.label().isEmpty())
                throw new UserException(where + "the label of '" + written + "' is empty (expected a class name)");
            if (Files.isDirectory(e.file()))
                throw new UserException(where + "'" + written + "' is a folder, not an image file");
            if (!Files.isRegularFile(e.file()))
                throw new UserException(where + "image '" + written + "' not found (no file "
                        + oneLine(e.file().toString()) + ")");
            Integer label = index.get(e.label());
            if (label == null)
                throw new UserException(where + "label '" + oneLine(e.label()) + "' is not among the training classes "
                        + oneLine(shortList(names)));
            Entry first = seen.putIfAbsent(e.file().toAbsolutePath().normalize(), e);
            if (first != null && !first.label().equals(e.label()))
                throw new UserException(where + "'" + written + "' is labelled '" + oneLine(e.label()) + "', but line "
                        + first.line() + " lists it as '" + oneLine(first.label()) + "'");
            samples.add(new Sample(e.file(), label));
        }
        return new Dataset(List.copyOf(names), List.copyOf(samples));
    }

    /** Text from a list file for a one-line message: control characters escaped ({@code \\n}, {@code \\t}, ...). */
    static String oneLine(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (Character.isISOControl(c)) b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.toString();
    }

    /** {@code names} as a list, the first twenty of a longer one with the count. */
    static String shortList(List<String> names) {
        if (names.size() <= 20) return names.toString();
        return "[" + String.join(", ", names.subList(0, 20)) + ", ... (" + names.size() + " classes)]";
    }
}
