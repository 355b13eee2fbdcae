package convnet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.UserException;
import convnet.model.Net;
import convnet.report.Files2;
import convnet.weights.Safetensors;
import convnet.weights.StateDict;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.HexFormat;
import java.util.LinkedHashMap;
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

    public record State(int epoch, long step, double bestMetric, int bestEpoch, double[] schedule) {
        public State(int epoch, long step, double bestMetric, int bestEpoch) {
            this(epoch, step, bestMetric, bestEpoch, null);
        }
    }

    private final Path dir;

    public Checkpoints(Path runDir) {
        this.dir = runDir.resolve("checkpoints");
    }

    public Path dir() {
        return dir;
    }

    /** Saves a complete checkpoint for the epoch just finished and points {@code last} (and {@code best} if asked) at it. */
    public Path save(Net net, Optimizer optimizer, State state, boolean best, boolean keep) {
        String name = String.format("epoch-%04d", state.epoch());
        Path target = dir.resolve(name);
        Path tmp = dir.resolve("." + name + ".tmp");
        try {
            Files.createDirectories(dir);
            deleteTree(tmp);
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
            if (state.schedule() != null) {
                List<Object> sch = new ArrayList<>();
                for (double v : state.schedule()) sch.add(Double.isNaN(v) ? null : v);
                s.put("schedule", sch);
            }
            s.put("model_sha256", sha256(tmp.resolve("model.safetensors")));
            s.put("optimizer_sha256", sha256(tmp.resolve("optimizer.pt")));
            Files2.writeString(tmp.resolve("state.json"), JSON.writeValueAsString(s));
            deleteTree(target);
            Files2.moveAtomically(tmp, target);
        } catch (IOException | RuntimeException e) {
            try {
                deleteTree(tmp);
            } catch (IOException ignored) {
                // leftover temporary folder; removed on the next save
            }
            throw new UserException("cannot write checkpoint " + target + ": " + e.getMessage() + " (earlier checkpoints are intact)");
        }
        point("last", name);
        if (best) point("best", name);
        prune();
        return target;
    }

    private void point(String pointer, String name) {
        Files2.writeString(dir.resolve(pointer + ".json"), "{\"dir\": \"" + name + "\"}\n");
    }

    /** The folder a pointer ({@code last} or {@code best}) names, or null if there is none. */
    public Path resolve(String pointer) {
        Path p = dir.resolve(pointer + ".json");
        if (!Files.isRegularFile(p)) return null;
        try {
            String name = JSON.readTree(p.toFile()).path("dir").asText();
            if (!name.matches("epoch-\\d+")) throw new UserException(p + ": damaged pointer file");
            return dir.resolve(name);
        } catch (IOException e) {
            throw new UserException(p + ": damaged pointer file: " + e.getMessage());
        }
    }

    /** Reads and verifies a checkpoint folder's state; a damaged checkpoint is a UserException naming what is wrong. */
    public static State verify(Path ckpt) {
        Path statePath = ckpt.resolve("state.json");
        if (!Files.isRegularFile(statePath)) throw new UserException(ckpt + ": not a checkpoint (no state.json)");
        try {
            var s = JSON.readTree(statePath.toFile());
            for (String f : new String[] {"model.safetensors", "optimizer.pt"}) {
                Path file = ckpt.resolve(f);
                String want = s.path(f.startsWith("model") ? "model_sha256" : "optimizer_sha256").asText();
                if (!Files.isRegularFile(file)) throw new UserException(ckpt + ": damaged checkpoint, " + f + " is missing");
                if (!want.equals(sha256(file))) throw new UserException(ckpt + ": damaged checkpoint, " + f + " does not match its checksum");
            }
            double best = s.path("best_metric").isNull() ? Double.NaN : s.path("best_metric").asDouble();
            double[] schedule = null;
            if (s.path("schedule").isArray()) {
                schedule = new double[s.path("schedule").size()];
                for (int i = 0; i < schedule.length; i++) schedule[i] = s.path("schedule").get(i).isNull() ? Double.NaN : s.path("schedule").get(i).asDouble();
            }
            return new State(s.path("epoch").asInt(), s.path("step").asLong(), best, s.path("best_epoch").asInt(), schedule);
        } catch (IOException e) {
            throw new UserException(statePath + ": damaged checkpoint state: " + e.getMessage());
        }
    }

    /** Loads weights and, if given, optimizer state from a verified checkpoint. Call outside a PointerScope. */
    public static State load(Path ckpt, Net net, Optimizer optimizer) {
        State state = verify(ckpt);
        Safetensors.load(ckpt.resolve("model.safetensors"), StateDict.of(net));
        if (optimizer != null) {
            InputArchive archive = new InputArchive();
            archive.load_from(ckpt.resolve("optimizer.pt").toString());
            optimizer.load(archive);
            archive.close();
        }
        return state;
    }

    /** Checkpoint folders, newest first. */
    List<Path> folders() {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).filter(p -> p.getFileName().toString().matches("epoch-\\d+")).sorted(Comparator.reverseOrder()).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /**
     * The newest checkpoint that verifies and loads into {@code net} and {@code optimizer}: {@code last},
     * else older ones. Each damaged one is logged with its reason and left as it is. Null if there are none;
     * an error if there are some but none is usable.
     */
    public Path loadLatestGood(Net net, Optimizer optimizer, State[] loaded) {
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
                loaded[0] = load(c, net, optimizer);
                if (!problems.isEmpty()) log.warn("resuming from the older checkpoint {} instead", c.getFileName());
                return c;
            } catch (RuntimeException e) {
                String why = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
                problems.add(c.getFileName() + ": " + why);
                log.warn("checkpoint {} is not usable: {}", c.getFileName(), why);
            }
        }
        if (candidates.isEmpty()) return null;
        throw new UserException("no usable checkpoint in " + dir + " (" + String.join("; ", problems) + "); use --restart to start over");
    }

    /** Removes checkpoint folders other than the two newest, the best, and those marked to keep (older ones are fallbacks if the newest is damaged). */
    private void prune() {
        Path last = resolve("last"), best = resolve("best");
        List<Path> newest = folders().stream().limit(2).toList();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(Files::isDirectory).sorted(Comparator.naturalOrder()).toList()) {
                String n = p.getFileName().toString();
                if (!n.startsWith("epoch-") || p.equals(last) || p.equals(best) || newest.contains(p)) continue;
                boolean keep = false;
                try {
                    keep = JSON.readTree(p.resolve("state.json").toFile()).path("keep").asBoolean(false);
                } catch (IOException damaged) {
                    // a damaged folder older than the two newest is no use as a fallback
                }
                if (!keep) deleteTree(p);
            }
        } catch (IOException e) {
            log.warn("could not prune old checkpoints in {}: {}", dir, e.getMessage());
        }
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            byte[] buf = new byte[1 << 16];
            while (in.read(buf) >= 0) {
                // digesting
            }
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
