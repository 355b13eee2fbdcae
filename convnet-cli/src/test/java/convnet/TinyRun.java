package convnet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;

/** A small trained run for tests that need one: two flower classes at 32 px, one epoch, fixed normalisation. */
public record TinyRun(Path data, Path config, Path run) {
    /** Trains it under {@code dir} with {@code perClass} images of each class. */
    public static TinyRun train(Path dir, String name, int perClass) throws Exception {
        Path data = TestData.subset("flowers5-128", dir.resolve("data"), perClass, "daisy", "rose");
        Path config = dir.resolve(name + ".yaml");
        Files.writeString(
                config,
                "name: " + name + "\nseed: 1\nmodel: {name: preact_resnet20_cifar}\ndata: {train: " + data
                        + ", image_size: 32, batch_size: 4, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}\ntrain: {epochs: 1}\n");
        Path run = dir.resolve("run");
        Cli.Out o = Cli.run("train", config.toString(), "--run", run.toString(), "--threads", "2");
        assertEquals(0, o.code(), o.stderr());
        return new TinyRun(data, config, run);
    }
}
