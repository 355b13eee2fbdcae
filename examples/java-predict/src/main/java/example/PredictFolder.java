package example;

import convnet.eval.Classifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/** Classifies every .jpg/.jpeg/.png file of a folder with a trained convnet run, in one batch. */
public final class PredictFolder {
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: PredictFolder RUN_OR_MODEL_DIR IMAGE_FOLDER");
            System.exit(2);
        }
        List<Path> images;
        try (Stream<Path> s = Files.list(Path.of(args[1]))) {
            images = s.filter(p -> p.toString().toLowerCase(Locale.ROOT).matches(".*\\.(jpe?g|png)"))
                    .sorted()
                    .toList();
        }
        try (Classifier classifier = Classifier.load(Path.of(args[0]))) {
            List<List<Classifier.Guess>> guesses = classifier.predict(images, 1);
            for (int i = 0; i < images.size(); i++) {
                Classifier.Guess top = guesses.get(i).get(0);
                System.out.printf(
                        Locale.ROOT, "%s: %s %.3f%n", images.get(i).getFileName(), top.label(), top.probability());
            }
        }
    }
}
