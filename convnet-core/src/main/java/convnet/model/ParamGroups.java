package convnet.model;

import convnet.UserException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.StringTensorDict;

/**
 * Names for parts of a network, as {@code train.freeze} and {@code train.lr_factors} use them: the family's groups
 * ({@link Arch#groups}: {@code stem}, {@code stage1}, ...), {@code head} (the last layer with parameters, what
 * {@code model.init.drop_head} replaces: {@code fc}, {@code classifier.6}), {@code backbone} (everything else),
 * {@code pretrained} (what {@code model.init.weights} loaded), or a layer name such as {@code layer4.1} or
 * {@code features.0}, which covers the parameters under it.
 */
public final class ParamGroups {
    private ParamGroups() {}

    public static final String HEAD = "head", BACKBONE = "backbone", PRETRAINED = "pretrained";

    /** The parameter names of {@code net}, in its order. */
    public static List<String> parameterNames(Net net) {
        List<String> names = new ArrayList<>();
        StringTensorDict params = net.named_parameters(true);
        for (long i = 0; i < params.size(); i++) names.add(params.get(i).key().getString());
        return names;
    }

    /**
     * The name prefix of a network's last layer with parameters ({@code classifier.6} for VGG, {@code fc} for
     * ResNet).
     */
    public static String headPrefix(Net net) {
        List<String> names = parameterNames(net);
        if (names.isEmpty()) throw new IllegalStateException("network without parameters");
        String last = names.get(names.size() - 1);
        return last.substring(0, last.lastIndexOf('.'));
    }

    /**
     * The parameters {@code word} names in {@code net} ({@code pretrained}: those in {@code pretrained}); a
     * {@link UserException} saying which names there are when it names none.
     */
    public static Set<String> select(Net net, String word, Set<String> pretrained) {
        List<String> names = parameterNames(net);
        Set<String> out = new LinkedHashSet<>();
        String head = headPrefix(net) + ".";
        Map<String, List<String>> groups = net.spec().arch().groups();
        for (String n : names) {
            boolean in = switch (word) {
                case HEAD -> n.startsWith(head);
                case BACKBONE -> !n.startsWith(head);
                case PRETRAINED -> pretrained.contains(n);
                default ->
                    groups.containsKey(word) ? groups.get(word).stream().anyMatch(p -> under(n, p)) : under(n, word);
            };
            if (in) out.add(n);
        }
        if (out.isEmpty() && !word.equals(PRETRAINED)) {
            throw new UserException("'" + word + "' names no part of "
                    + net.spec().name() + " (" + known(net) + "; or a layer name such as " + example(names) + ")");
        }
        return out;
    }

    /** The group names of {@code net}, for messages: {@code stem, stage1, ..., head, backbone, pretrained}. */
    public static String known(Net net) {
        List<String> all = new ArrayList<>(net.spec().arch().groups().keySet());
        all.addAll(List.of(HEAD, BACKBONE, PRETRAINED));
        return "groups: " + String.join(", ", all);
    }

    private static String example(List<String> names) {
        String first = names.isEmpty() ? "conv1.weight" : names.get(0);
        return first.substring(0, first.lastIndexOf('.'));
    }

    /** Whether parameter {@code name} is {@code prefix} or lies under it ({@code layer1} covers {@code layer1.0.conv1.weight}, not {@code layer10}). */
    static boolean under(String name, String prefix) {
        return name.equals(prefix) || name.startsWith(prefix + ".");
    }

    /**
     * The BatchNorm layers among {@code parameters}' owners whose weight is in {@code parameters}: the layers to hold
     * in evaluation mode (statistics fixed and used as they are) while those parameters are frozen.
     */
    public static Set<String> batchNorms(Net net, Set<String> parameters) {
        Set<String> out = new LinkedHashSet<>();
        var buffers = net.named_buffers(true);
        for (long i = 0; i < buffers.size(); i++) {
            String b = buffers.get(i).key().getString();
            if (!b.endsWith(".running_mean")) continue;
            String layer = b.substring(0, b.length() - ".running_mean".length());
            if (parameters.contains(layer + ".weight")) out.add(layer);
        }
        return out;
    }
}
