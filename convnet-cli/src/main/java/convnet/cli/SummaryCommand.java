package convnet.cli;

import convnet.UserException;
import convnet.engine.Engine;
import convnet.model.Layers;
import convnet.model.Models;
import convnet.model.Net;
import convnet.model.Summary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "summary",
        mixinStandardHelpOptions = true,
        description = "Print a model's layers, output shapes and parameter counts.")
final class SummaryCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Parameters(index = "0", paramLabel = "MODEL", description = "A model name (see 'convnet models').")
    String model;

    @Option(
            names = "--input",
            paramLabel = "CxHxW",
            defaultValue = "3x224x224",
            description = "Input shape (default: ${DEFAULT-VALUE}).")
    String input;

    @Option(names = "--classes", defaultValue = "1000", description = "Number of classes (default: ${DEFAULT-VALUE}).")
    int classes;

    @Override
    public void run() {
        String[] parts = input.toLowerCase().split("x");
        if (parts.length != 3) throw new UserException("--input " + input + ": expected CxHxW, e.g. 3x224x224");
        int c, h, w;
        try {
            c = Integer.parseInt(parts[0]);
            h = Integer.parseInt(parts[1]);
            w = Integer.parseInt(parts[2]);
        } catch (NumberFormatException e) {
            throw new UserException("--input " + input + ": expected CxHxW, e.g. 3x224x224");
        }
        if (c != 3) throw new UserException("--input " + input + ": the models take 3-channel (RGB) images");
        if (classes < 1) throw new UserException("--classes must be at least 1");
        Engine.start(common.threads);
        Models.preset(model);
        Net net = Layers.uninitialised(() -> Models.create(model, classes)); // shapes without initialising weights
        Summary s;
        try {
            s = Summary.of(net, c, h, w);
        } catch (RuntimeException e) {
            throw new UserException(model + " cannot take a " + input + " input: " + firstLine(e.getMessage()));
        }
        System.out.print(s.format());
    }

    static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
