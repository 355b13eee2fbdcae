package convnet.train;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.UserException;
import convnet.io.AtomicFiles;
import convnet.io.Dirs;
import convnet.io.Hashes;
import convnet.model.Net;
import convnet.weights.Safetensors;
import convnet.weights.StateDict;
import convnet.weights.TorchFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints as folders {@code checkpoints/epoch-NNNN/} holding {@code model.safetensors},
 * {@code optimizer.pt} (libtorch's archive of the optimizer state) and {@code state.json}: where the run
 * stood (epoch, step, batch when mid-epoch), this checkpoint's metric, the state of each {@link Stateful}
 * part under its key in {@code components}, and the SHA-256 of every file. A part with tensors (the
 * average of the weights) has them beside it as {@code <key>.safetensors}. A folder is written under a
 * temporary name and renamed when complete; {@code last.json} and {@code best.json} point at folders and
 * are replaced atomically, so a crash at any moment leaves the previous checkpoint usable.
 *
 * <p>{@code state.json} of format 2 (this one) holds {@code "format": 2}; one without it (format 1, with the
 * parts' state as positional arrays) is read into the same components by {@link #fromFormat1}.
 */
public final class Checkpoints {
    private static final Logger log = LoggerFactory.getLogger(Checkpoints.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The format of the {@code state.json} this class writes. */
    public static final int FORMAT = 2;

    /**
     * What a resume needs besides the network's and optimizer's tensors. {@code epoch}: epochs completed;
     * {@code batch}: batches of the next epoch done when the run stopped mid-epoch (0 at an epoch's end);
     * {@code step}: optimizer steps; {@code metric}: this checkpoint's value of the run's best-metric (ranks the
     * kept best checkpoints; NaN mid-epoch); {@code components}: each {@link Stateful} part's state by its key.
     */
    public record State(int epoch, int batch, long step, double metric, Map<String, Map<String, Object>> components) {
        public State {
            components = components == null ? Map.of() : Collections.unmodifiableMap(components);
        }

        /** A fresh run's state: nothing done, no part's state. */
        public static final State NEW = new State(0, 0, 0, Double.NaN, Map.of());

        /** Where the run stands now, and the state of {@code parts} (those with none to save left out). */
        public static State of(int epoch, int batch, long step, double metric, Collection<? extends Stateful> parts) {
            Map<String, Map<String, Object>> c = new LinkedHashMap<>();
            for (Stateful p : parts) {
                Map<String, Object> s = p.state();
                if (s != null && !s.isEmpty()) c.put(p.stateKey(), s);
            }
            return new State(epoch, batch, step, metric, c);
        }

        public boolean midEpoch() {
            return batch > 0;
        }

        /** The state saved for the part {@code key}, or null if there is none. */
        public Map<String, Object> component(String key) {
            return components.get(key);
        }
    }

    /** What {@link #save} writes: the state, and the tensors of the parts that have some, by key. */
    public record Snapshot(State state, Map<String, Map<String, Tensor>> tensors) {
        /** Asks each of {@code parts} for its state and tensors. */
        public static Snapshot of(
                int epoch, int batch, long step, double metric, Collection<? extends Stateful> parts) {
            Map<String, Map<String, Tensor>> t = new LinkedHashMap<>();
            for (Stateful p : parts) if (!p.tensors().isEmpty()) t.put(p.stateKey(), p.tensors());
            return new Snapshot(State.of(epoch, batch, step, metric, parts), t);
        }
    }

    private final Path dir;
    private int keepBest = 1;
    private Metric metric = Metric.VAL_ACC;
    private String config; // the resolved config YAML that makes these checkpoints, copied into each

    /** The checkpoints kept in folder {@code dir} (created with the first save). */
    public Checkpoints(Path dir) {
        this.dir = dir;
    }

    /** Keeps the {@code k} best epoch checkpoints by {@code metric}, the run's best-metric. */
    public Checkpoints keepBest(int k, Metric metric) {
        this.keepBest = k;
        this.metric = metric;
        return this;
    }

    /** Copies {@code yaml} (the run's resolved config) into every checkpoint as {@code config.yaml}. */
    public Checkpoints config(String yaml) {
        this.config = yaml;
        return this;
    }

    /** The config a checkpoint was made with, or null for checkpoints without one. */
    public static String configOf(Path ckpt) {
        try {
            return Files.isRegularFile(ckpt.resolve(CONFIG)) ? Files.readString(ckpt.resolve(CONFIG)) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The folder name of a checkpoint: {@code epoch-NNNN}, or {@code epoch-NNNN-bNNNNNN} mid-epoch (sorts between epochs). */
    static String folderName(State s) {
        return s.midEpoch()
                ? String.format("epoch-%04d-b%06d", s.epoch(), s.batch())
                : String.format("epoch-%04d", s.epoch());
    }

    private static final String FOLDER = "epoch-\\d+(-b\\d+)?";
    private static final String CONFIG = "config.yaml", EMA = "ema.safetensors", TENSORS = ".safetensors";
    private static final Set<String> FILE_CHECKSUMS = Set.of("model_sha256", "optimizer_sha256", "config_sha256");

    public Path dir() {
        return dir;
    }

    /**
     * Saves a complete checkpoint (at an epoch's end, or mid-epoch when the run is stopped) and points
     * {@code last} (and {@code best} if asked) at it.
     */
    public Path save(Net net, Optimizer optimizer, State state, boolean best, boolean keep) {
        return save(net, optimizer, new Snapshot(state, Map.of()), best, keep);
    }

    /** As {@link #save(Net, Optimizer, State, boolean, boolean)}, with the tensors of the parts that have some. */
    public Path save(Net net, Optimizer optimizer, Snapshot snapshot, boolean best, boolean keep) {
        State state = snapshot.state();
        String name = folderName(state);
        Path target = dir.resolve(name);
        Path tmp = dir.resolve("." + name + ".tmp");
        try {
            Files.createDirectories(dir);
            Dirs.deleteTree(tmp);
            Files.createDirectories(tmp);
            Safetensors.write(tmp.resolve("model.safetensors"), StateDict.of(net), Map.of("format", "pt"));
            OutputArchive archive = new OutputArchive();
            optimizer.save(archive);
            archive.save_to(tmp.resolve("optimizer.pt").toString());
            archive.close();
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("format", FORMAT);
            s.put("epoch", state.epoch());
            s.put("step", state.step());
            if (state.midEpoch()) s.put("batch", state.batch());
            s.put("keep", keep);
            s.put("metric", Double.isNaN(state.metric()) ? null : state.metric());
            Map<String, Object> components = new LinkedHashMap<>();
            for (var c : state.components().entrySet()) components.put(c.getKey(), json(c.getValue()));
            s.put("components", components);
            if (config != null) {
                AtomicFiles.writeString(tmp.resolve(CONFIG), config);
                s.put("config_sha256", sha256(tmp.resolve(CONFIG)));
            }
            s.put("model_sha256", sha256(tmp.resolve("model.safetensors")));
            for (var t : snapshot.tensors().entrySet()) {
                Path file = tmp.resolve(t.getKey() + TENSORS);
                Safetensors.write(file, t.getValue(), Map.of("format", "pt"));
                s.put(t.getKey() + "_sha256", sha256(file));
            }
            s.put("optimizer_sha256", sha256(tmp.resolve("optimizer.pt")));
            AtomicFiles.writeString(tmp.resolve("state.json"), JSON.writeValueAsString(s));
            Dirs.deleteTree(target);
            AtomicFiles.moveAtomically(tmp, target);
        } catch (IOException | RuntimeException e) {
            try {
                Dirs.deleteTree(tmp);
            } catch (IOException ignored) {
                // leftover temporary folder; removed on the next save
            }
            throw new UserException(
                    "cannot write checkpoint " + target + ": " + e.getMessage() + " (earlier checkpoints are intact)");
        }
        point("last", name);
        if (best) point("best", name);
        prune();
        return target;
    }

    /** A part's state as JSON writes it: NaN (which JSON has not) as null. */
    private static Map<String, Object> json(Map<String, Object> state) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (var e : state.entrySet()) {
            Object v = e.getValue();
            out.put(e.getKey(), v instanceof Double d && d.isNaN() || v instanceof Float f && f.isNaN() ? null : v);
        }
        return out;
    }

    private static double[] numbers(JsonNode array) {
        if (!array.isArray()) return null;
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++)
            out[i] = array.get(i).isNull() ? Double.NaN : array.get(i).asDouble();
        return out;
    }

    private void point(String pointer, String name) {
        AtomicFiles.writeString(dir.resolve(pointer + ".json"), "{\"dir\": \"" + name + "\"}\n");
    }

    /** The folder a pointer ({@code last} or {@code best}) names, or null if there is none. */
    public Path resolve(String pointer) {
        Path p = dir.resolve(pointer + ".json");
        if (!Files.isRegularFile(p)) return null;
        try {
            String name = JSON.readTree(p.toFile()).path("dir").asText();
            if (!name.matches(FOLDER)) throw new UserException(p + ": damaged pointer file");
            return dir.resolve(name);
        } catch (IOException e) {
            throw new UserException(p + ": damaged pointer file: " + e.getMessage());
        }
    }

    /**
     * The checkpoint that {@code which} names: {@code last} or {@code best} (this folder's pointers), or a
     * path to a checkpoint folder. An error if a pointer names nothing; a path is returned as it is (verify it).
     */
    public Path find(String which) {
        if (which.equals("last") || which.equals("best")) {
            Path p = resolve(which);
            if (p == null)
                throw new UserException(
                        (dir.getParent() != null ? dir.getParent() : dir) + ": no '" + which + "' checkpoint");
            return p;
        }
        return Path.of(which);
    }

    /** Reads and verifies a checkpoint folder's state; a damaged checkpoint is a UserException naming what is wrong. */
    public static State verify(Path ckpt) {
        Path statePath = ckpt.resolve("state.json");
        if (!Files.exists(ckpt)) throw new UserException(ckpt + ": no such checkpoint folder");
        if (!Files.isRegularFile(statePath)) throw new UserException(ckpt + ": not a checkpoint (no state.json)");
        try {
            var s = JSON.readTree(statePath.toFile());
            for (String f : new String[] {"model.safetensors", "optimizer.pt"}) {
                Path file = ckpt.resolve(f);
                String want = s.path(f.startsWith("model") ? "model_sha256" : "optimizer_sha256")
                        .asText();
                if (!Files.isRegularFile(file))
                    throw new UserException(ckpt + ": damaged checkpoint, " + f + " is missing");
                if (!want.equals(sha256(file)))
                    throw new UserException(ckpt + ": damaged checkpoint, " + f + " does not match its checksum");
            }
            for (var names = s.fieldNames(); names.hasNext(); ) {
                String field = names.next();
                if (!field.endsWith("_sha256") || FILE_CHECKSUMS.contains(field)) continue;
                String file = field.substring(0, field.length() - "_sha256".length()) + TENSORS;
                if (!file.matches("[a-z0-9_]+\\.safetensors")
                        || !(Files.isRegularFile(ckpt.resolve(file))
                                && s.path(field).asText().equals(sha256(ckpt.resolve(file))))) {
                    throw new UserException(
                            ckpt + ": damaged checkpoint, " + file + " is missing or does not match its checksum");
                }
            }
            if (s.has("config_sha256")
                    && !(Files.isRegularFile(ckpt.resolve(CONFIG))
                            && s.path("config_sha256").asText().equals(sha256(ckpt.resolve(CONFIG))))) {
                throw new UserException(
                        ckpt + ": damaged checkpoint, config.yaml is missing or does not match its checksum");
            }
            double metric = s.path("metric").isNumber() ? s.path("metric").asDouble() : Double.NaN;
            int batch = s.path("batch").asInt(0);
            int format = s.path("format").asInt(1);
            if (format > FORMAT)
                throw new UserException(statePath + ": checkpoint format " + format
                        + " is newer than this version of convnet reads (" + FORMAT + ")");
            Map<String, Map<String, Object>> components;
            if (format >= 2) {
                if (!s.path("components").isObject())
                    throw new UserException(statePath + ": damaged checkpoint state (no components)");
                components = new LinkedHashMap<>();
                for (var c = s.path("components").fields(); c.hasNext(); ) {
                    var e = c.next();
                    if (!e.getValue().isObject())
                        throw new UserException(
                                statePath + ": damaged checkpoint state (component " + e.getKey() + ")");
                    components.put(e.getKey(), JSON.convertValue(e.getValue(), MAP));
                }
            } else {
                components = fromFormat1(s);
            }
            if (batch < 0 || batch > 0 && !components.containsKey(EpochProgress.KEY))
                throw new UserException(statePath + ": damaged checkpoint state (mid-epoch position)");
            return new State(s.path("epoch").asInt(), batch, s.path("step").asLong(), metric, components);
        } catch (IOException | IllegalArgumentException e) {
            throw new UserException(statePath + ": damaged checkpoint state: " + e.getMessage());
        }
    }

    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};

    /**
     * The components of a format-1 {@code state.json}, whose parts' state was positional arrays beside the
     * position: {@code best_metric} and {@code best_epoch}, {@code partial} (the unfinished epoch's sums),
     * {@code schedule}, {@code scaler}, {@code early_stopping}, and {@code ema_updates} beside {@code ema.safetensors}.
     * An array of the wrong length is left out, as the parts ignored one then.
     */
    static Map<String, Map<String, Object>> fromFormat1(JsonNode s) {
        Map<String, Map<String, Object>> c = new LinkedHashMap<>();
        c.put(CheckpointSaver.KEY, named(new String[] {"metric", "epoch"}, new Object[] {
            s.path("best_metric").isNumber() ? s.path("best_metric").asDouble() : Double.NaN,
            s.path("best_epoch").asInt()
        }));
        double[] partial = numbers(s.path("partial"));
        if (s.path("batch").asInt(0) > 0 && partial != null && partial.length == 5)
            c.put(
                    EpochProgress.KEY,
                    EpochProgress.of(s.path("batch").asInt(), partial).state());
        format1(c, "schedule", numbers(s.path("schedule")), "lr", "best", "bad_epochs", "cooldown_left");
        format1(c, "loss_scaler", numbers(s.path("scaler")), "scale", "good_steps", "skipped");
        format1(
                c,
                "early_stopping",
                numbers(s.path("early_stopping")),
                "best",
                "best_epoch",
                "bad_epochs",
                "stopped_after");
        if (s.has("ema_sha256"))
            c.put("ema", named(new String[] {"updates"}, new Object[] {
                s.path("ema_updates").asLong()
            }));
        return c;
    }

    private static void format1(Map<String, Map<String, Object>> c, String key, double[] values, String... names) {
        if (values == null || values.length != names.length) return;
        Object[] boxed = new Object[values.length];
        for (int i = 0; i < values.length; i++) boxed[i] = values[i];
        c.put(key, named(names, boxed));
    }

    private static Map<String, Object> named(String[] names, Object[] values) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < names.length; i++) m.put(names[i], values[i]);
        return m;
    }

    /**
     * Gives each of {@code parts} its state saved in the verified checkpoint {@code ckpt} (read as {@code state}),
     * its tensors first (checked against their checksum). A part without saved state is left as it is. Returns
     * the keys of the parts restored.
     */
    public static List<String> restore(Path ckpt, State state, Collection<? extends Stateful> parts) {
        List<String> restored = new ArrayList<>();
        for (Stateful p : parts) {
            Map<String, Object> s = state.component(p.stateKey());
            if (s == null) continue;
            if (!p.tensors().isEmpty()) loadTensors(ckpt, p.stateKey(), p.tensors());
            p.restore(s);
            restored.add(p.stateKey());
        }
        return restored;
    }

    private static void loadTensors(Path ckpt, String key, Map<String, Tensor> into) {
        String name = key + TENSORS;
        Path file = ckpt.resolve(name);
        try {
            var s = JSON.readTree(ckpt.resolve("state.json").toFile());
            if (!Files.isRegularFile(file) || !s.path(key + "_sha256").asText().equals(sha256(file)))
                throw new UserException(
                        ckpt + ": damaged checkpoint, " + name + " is missing or does not match its checksum");
            Safetensors.load(file, into);
        } catch (IOException e) {
            throw new UserException(ckpt + ": cannot read " + name + ": " + e.getMessage());
        }
    }

    /**
     * Loads the average of the weights (EMA) saved with the verified checkpoint {@code ckpt} into {@code net},
     * in place of the raw weights: what {@code convnet test --ema} scores. A checkpoint of a run trained
     * without {@code train.ema} has none, and says so.
     */
    public static State loadAverage(Path ckpt, Net net) {
        State state = verify(ckpt);
        Path file = ckpt.resolve(EMA);
        if (!Files.isRegularFile(file))
            throw new UserException(ckpt + ": the checkpoint holds no average of the weights (the run was trained"
                    + " without train.ema); test its raw weights without --ema");
        Safetensors.load(file, StateDict.of(net));
        return state;
    }

    /** Loads weights and, if given, optimizer state from a verified checkpoint. Call outside a PointerScope. */
    public static State load(Path ckpt, Net net, Optimizer optimizer) {
        State state = verify(ckpt);
        Safetensors.load(ckpt.resolve("model.safetensors"), StateDict.of(net));
        if (optimizer != null) {
            Path file = ckpt.resolve("optimizer.pt");
            // libtorch's reader trusts the zip's sizes and overflows the native stack on a deep pickle
            TorchFile.checkArchive(file);
            InputArchive archive = new InputArchive();
            try {
                archive.load_from(file.toString());
                optimizer.load(archive);
            } catch (UserException e) {
                throw e;
            } catch (RuntimeException e) { // libtorch's error, with its C++ stack trace after the first line
                String why = e.getMessage() == null
                        ? e.toString()
                        : e.getMessage().lines().findFirst().orElse("");
                throw new UserException(file + ": damaged checkpoint, libtorch cannot read it: " + why);
            } finally {
                archive.close();
            }
        }
        return state;
    }

    /** Checkpoint folders, newest first. */
    List<Path> folders() {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory)
                    .filter(p -> p.getFileName().toString().matches(FOLDER))
                    .sorted(Comparator.reverseOrder())
                    .toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** A checkpoint loaded into a network and optimizer: where it came from, and its state. */
    public record Loaded(Path path, State state) {}

    /** Loads {@code ckpt} (verified first) into {@code net} and {@code optimizer}. */
    public static Loaded loadFrom(Path ckpt, Net net, Optimizer optimizer) {
        return new Loaded(ckpt, load(ckpt, net, optimizer));
    }

    /**
     * The newest checkpoint that verifies and loads into {@code net} and {@code optimizer}: {@code last},
     * else older ones. Each damaged one is logged with its reason and left as it is. Null if there are none;
     * an error if there are some but none is usable.
     */
    public Loaded loadLatestGood(Net net, Optimizer optimizer) {
        List<Path> candidates = new ArrayList<>();
        Path last = null;
        try {
            last = resolve("last");
        } catch (UserException e) {
            log.warn("{}", e.getMessage());
        }
        if (last != null) candidates.add(last);
        for (Path p : folders()) if (!candidates.contains(p)) candidates.add(p);
        List<String> problems = new ArrayList<>();
        for (Path c : candidates) {
            try {
                Loaded loaded = loadFrom(c, net, optimizer);
                if (!problems.isEmpty()) log.warn("resuming from the older checkpoint {} instead", c.getFileName());
                return loaded;
            } catch (RuntimeException e) {
                String why = e.getMessage() == null
                        ? e.toString()
                        : e.getMessage().lines().findFirst().orElse("");
                problems.add(c.getFileName() + ": " + why);
                log.warn("checkpoint {} is not usable: {}", c.getFileName(), why);
            }
        }
        if (candidates.isEmpty()) return null;
        throw new UserException("no usable checkpoint in " + dir + " (" + String.join("; ", problems)
                + "); use --restart to start over");
    }

    /** Whether the folder holds any checkpoint, usable or not. */
    public boolean any() {
        return !folders().isEmpty() || Files.exists(dir.resolve("last.json"));
    }

    /**
     * Removes what this class writes — checkpoint folders, their temporary folders and the pointers — and
     * then the folder if that left it empty. Anything else in it stays.
     */
    public void clear() throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.matches(FOLDER)
                        || n.matches("\\." + FOLDER + "\\.tmp")
                        || n.matches("(last|best)\\.json")
                        || n.matches("\\.(last|best)\\.json\\..*\\.tmp")) {
                    Dirs.deleteTree(p);
                }
            }
        }
        Dirs.deleteIfEmpty(dir);
    }

    /**
     * Removes checkpoint folders other than the two newest (older ones are fallbacks if the newest is
     * damaged), {@code last}, {@code best}, the {@code keepBest} best by metric, and those marked to keep.
     */
    private void prune() {
        Path last = resolve("last"), best = resolve("best");
        List<Path> all = folders();
        List<Path> newest = all.subList(0, Math.min(2, all.size()));
        Map<Path, JsonNode> states = new LinkedHashMap<>();
        for (Path p : all) {
            try {
                states.put(p, JSON.readTree(p.resolve("state.json").toFile()));
            } catch (IOException damaged) {
                states.put(
                        p,
                        JSON.createObjectNode()); // a damaged folder older than the two newest is no use as a fallback
            }
        }
        List<Path> ranked = states.entrySet().stream()
                .filter(e ->
                        e.getValue().path("metric").isNumber() && !e.getValue().has("batch"))
                .sorted(Comparator.comparingDouble((Map.Entry<Path, JsonNode> e) ->
                                metric.rankKey(e.getValue().path("metric").asDouble()))
                        .thenComparing(e -> e.getKey().getFileName().toString()))
                .map(Map.Entry::getKey)
                .limit(keepBest)
                .toList();
        try {
            for (var e : states.entrySet()) {
                Path p = e.getKey();
                if (p.equals(last)
                        || p.equals(best)
                        || newest.contains(p)
                        || ranked.contains(p)
                        || e.getValue().path("keep").asBoolean(false)) continue;
                Dirs.deleteTree(p);
            }
        } catch (IOException e) {
            log.warn("could not prune old checkpoints in {}: {}", dir, e.getMessage());
        }
    }

    static String sha256(Path file) throws IOException {
        return Hashes.sha256(file);
    }
}
