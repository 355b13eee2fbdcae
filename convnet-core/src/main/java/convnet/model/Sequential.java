package convnet.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * An ordered chain of named layers. Layers that are modules are registered under their name, so a
 * chain named {@code features} holding a convolution at index 0 yields the parameter
 * {@code features.0.weight}, as in torchvision. Parameterless layers take an index too, keeping
 * torchvision's numbering.
 */
public class Sequential extends Module implements Layer {
    /** One link of the chain. */
    public record Entry(String name, Layer layer) {}

    private final List<Entry> entries = new ArrayList<>();

    /** Appends a layer named by its position. */
    public <L extends Layer> L add(L layer) {
        return add(String.valueOf(entries.size()), layer);
    }

    /** Appends a layer under a given name. */
    public <L extends Layer> L add(String name, L layer) {
        if (layer instanceof Module m) {
            register_module(name, m);
        }
        entries.add(new Entry(name, layer));
        return layer;
    }

    public List<Entry> entries() {
        return Collections.unmodifiableList(entries);
    }

    public int size() {
        return entries.size();
    }

    @Override
    public Tensor forward(Tensor x) {
        for (Entry e : entries) {
            x = e.layer.forward(x);
        }
        return x;
    }

    @Override
    public <V> V trace(Tracer<V> t, V x) {
        for (Entry e : entries) x = t.child(e.name, e.layer, x);
        return x;
    }

    @Override
    public String describe() {
        return "Sequence(" + entries.size() + ")";
    }
}
