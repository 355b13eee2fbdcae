package convnet.cli;

import convnet.engine.Engine;
import convnet.model.Layers;
import convnet.model.Models;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "models",
        mixinStandardHelpOptions = true,
        description = "List the model names with their parameter counts.")
final class ModelsCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Option(
            names = "--classes",
            defaultValue = "1000",
            description = "Number of classes for the counts (default: ${DEFAULT-VALUE}).")
    int classes;

    @Override
    public void run() {
        Engine.start(common.threads);
        System.out.printf("%-24s %14s  %s%n", "name", "parameters", "description");
        for (String name : Models.names()) {
            var net = Layers.shapesOnly(() -> Models.create(name, classes)); // counts without allocating weights
            long n = net.parameterCount();
            net.close(); // frees the native weights now rather than at some later GC
            System.out.printf("%-24s %,14d  %s%n", name, n, Models.note(name));
        }
    }
}
