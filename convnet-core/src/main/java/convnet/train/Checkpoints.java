package convnet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.UserException;
import convnet.io.AtomicFiles;
import convnet.io.Dirs;
import convnet.model.Net;
import convnet.weights.Safetensors;
import convnet.weights.StateDict;
import convnet.weights.TorchFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints as folders {@code checkpoints/epoch-NNNN/} holding {@code model.safetensors},
 * {@code optimizer.pt} (libtorch's archive of the optimizer state) and {@code state.json} (epoch,
 * step, best metric, SHA-256 of both files). A folder is written under a temporary name and renamed
 * when complete; {@code last.json} and {@code best.json} point at folders and are replaced
 * atomically, so a crash at any moment leaves the previous checkpoint usable.
 */
public final class Checkpoints {
    private static final Logger log = LoggerFactory.getLogger(Checkpoints.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What a resume needs besides the tensors. {@code epoch}: epochs completed; {@code progress}: how far
     * the next epoch had come when the run stopped mid-epoch ({@link EpochProgress#START} at an epoch's end);
     * {@code metric}: this checkpoint's value of the run's best-metric (ranks the kept best checkpoints);
     * {@code scaler}: the fp16 loss scaler's state.
     */
    public record State(
            int epoch,
            long step,
            double bestMetric,
            int bestEpoch,
            double[] schedule,
            double metric,
            EpochProgress progress,
            double[] scaler,
            double[] earlyStopping) {
        public State {
            if (progress == null) progress = EpochProgress.START;
        }

        public State(
                int epoch,
                long step,
                double bestMetric,
                int bestEpoch,
                double[] schedule,
                double metric,
                EpochProgress progress,
                double[] scaler) {
            this(epoch, step, bestMetric, bestEpoch, schedule, metric, progress, scaler, null);
        }

        /** A fresh run's state: nothing done, no best yet. */
        public static final State NEW = new State(0, 0, Double.NaN, 0, null, Double.NaN, null, null);

        public boolean midEpoch() {
            return progress.midEpoch();
        }

        /** Batches done in the next epoch (0 at an epoch's end). */
        public int batch() {
            return progress.batch();
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
    private static final String CONFIG = "config.yaml", EMA = "ema.safetensors";

    public Path dir() {
        return dir;
    }

    /**
     * Saves a complete checkpoint (at an epoch's end, or mid-epoch when the run is stopped) and points
     * {@code last} (and {@code best} if asked) at it.
     */
    public Path save(Net net, Optimizer optimizer, State state, boolean best, boolean keep) {
        return save(net, optimizer, null, state, best, keep);
    }

    /** As {@link #save(Net, Optimizer, State, boolean, boolean)}, with the average of the weights when there is one. */
    public Path save(Net net, Optimizer optimizer, ModelEma ema, State state, boolean best, boolean keep) {
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
            s.put("epoch", state.epoch());
            s.put("step", state.step());
            s.put("best_metric", Double.isNaN(state.bestMetric()) ? null : state.bestMetric());
            s.put("best_epoch", state.bestEpoch());
            s.put("keep", keep);
            s.put("metric", Double.isNaN(state.metric()) ? null : state.metric());
            if (state.midEpoch()) {
                s.put("batch", state.batch());
                s.put("partial", numbers(state.progress().sums()));
            }
            if (state.schedule() != null) s.put("schedule", numbers(state.schedule()));
            if (state.scaler() != null) s.put("scaler", numbers(state.scaler()));
            if (state.earlyStopping() != null) s.put("early_stopping", numbers(state.earlyStopping()));
            if (config != null) {
                AtomicFiles.writeString(tmp.resolve(CONFIG), config);
                s.put("config_sha256", sha256(tmp.resolve(CONFIG)));
            }
            s.put("model_sha256", sha256(tmp.resolve("model.safetensors")));
            if (ema != null) {
                Safetensors.write(tmp.resolve(EMA), ema.tensors(), Map.of("format", "pt"));
                s.put("ema_sha256", sha256(tmp.resolve(EMA)));
                s.put("ema_updates", ema.updates());
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

    private static List<Object> numbers(double[] values) {
        List<Object> out = new ArrayList<>();
        for (double v : values) out.add(Double.isNaN(v) ? null : v);
        return out;
    }

    private static double[] numbers(com.fasterxml.jackson.databind.JsonNode array) {
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
            if (s.has("ema_sha256")
                    && !(Files.isRegularFile(ckpt.resolve(EMA))
                            && s.path("ema_sha256").asText().equals(sha256(ckpt.resolve(EMA))))) {
                throw new UserException(
                        ckpt + ": damaged checkpoint, " + EMA + " is missing or does not match its checksum");
            }
            if (s.has("config_sha256")
                    && !(Files.isRegularFile(ckpt.resolve(CONFIG))
                            && s.path("config_sha256").asText().equals(sha256(ckpt.resolve(CONFIG))))) {
                throw new UserException(
                        ckpt + ": damaged checkpoint, config.yaml is missing or does not match its checksum");
            }
            double best =
                    s.path("best_metric").isNumber() ? s.path("best_metric").asDouble() : Double.NaN;
            double metric = s.path("metric").isNumber() ? s.path("metric").asDouble() : Double.NaN;
            int batch = s.path("batch").asInt(0);
            double[] partial = numbers(s.path("partial"));
            if (batch < 0 || batch > 0 && (partial == null || partial.length != 5))
                throw new UserException(statePath + ": damaged checkpoint state (mid-epoch position)");
            return new State(
                    s.path("epoch").asInt(),
                    s.path("step").asLong(),
                    best,
                    s.path("best_epoch").asInt(),
                    numbers(s.path("schedule")),
                    metric,
                    batch > 0 ? EpochProgress.of(batch, partial) : null,
                    numbers(s.path("scaler")),
                    numbers(s.path("early_stopping")));
        } catch (IOException e) {
            throw new UserException(statePath + ": damaged checkpoint state: " + e.getMessage());
        }
    }

    /**
     * Loads the average of the weights saved with {@code ckpt} into {@code ema}; false (and {@code ema} left as
     * it is: the current weights) when the checkpoint has none. Checked against its checksum.
     */
    public static boolean loadEma(Path ckpt, ModelEma ema) {
        Path file = ckpt.resolve(EMA);
        if (!Files.isRegularFile(file)) return false;
        try {
            var s = JSON.readTree(ckpt.resolve("state.json").toFile());
            if (!s.path("ema_sha256").asText().equals(sha256(file)))
                throw new UserException(ckpt + ": damaged checkpoint, " + EMA + " does not match its checksum");
            Safetensors.load(file, ema.tensors());
            ema.restoreUpdates(s.path("ema_updates").asLong());
            return true;
        } catch (IOException e) {
            throw new UserException(ckpt + ": cannot read " + EMA + ": " + e.getMessage());
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
        Map<Path, com.fasterxml.jackson.databind.JsonNode> states = new LinkedHashMap<>();
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
                .sorted(Comparator.comparingDouble((Map.Entry<Path, com.fasterxml.jackson.databind.JsonNode> e) ->
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
        return convnet.io.Hashes.sha256(file);
    }
}
