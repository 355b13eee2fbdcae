package convnet.bench;

import convnet.config.ConfigNode;
import convnet.engine.Engine;
import convnet.engine.Precision;
import convnet.io.AtomicFiles;
import convnet.report.MetricsCsv;
import convnet.run.RunConfig;
import convnet.run.RunDir;
import convnet.run.TestRun;
import convnet.run.TrainingRun;
import convnet.train.EpochStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Time to accuracy: trains a recipe (a config file) for a number of epochs into a fresh run directory and
 * measures the wall time, the accuracy reached (last epoch, best epoch, the weight average's where there is
 * one, flip-averaged test of the model bundle) and the training throughput — one row of a table.
 */
public final class RecipeBench {
    private RecipeBench() {}

    public record Row(
            String date,
            String config,
            String model,
            int epochs,
            double minutes,
            double lastValAcc,
            double bestValAcc,
            double bestEmaValAcc,
            double flipAcc,
            double imagesPerSecond,
            String precision,
            String cpu,
            String bf16Flags) {

        public static final String HEADER =
                "| date | config | model | epochs | minutes | val acc (last) | val acc (best) | EMA val acc (best) | flip-averaged (model bundle) | training images/s of wall time | precision | CPU | bf16 flags |\n"
                        + "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

        public String markdown() {
            return String.format(
                    Locale.ROOT,
                    "| %s | %s | %s | %d | %.1f | %s | %s | %s | %s | %.1f | %s | %s | %s |%n",
                    date,
                    config,
                    model,
                    epochs,
                    minutes,
                    pct(lastValAcc),
                    pct(bestValAcc),
                    pct(bestEmaValAcc),
                    pct(flipAcc),
                    imagesPerSecond,
                    precision,
                    cpu,
                    bf16Flags);
        }

        private static String pct(double v) {
            return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.2f %%", 100 * v);
        }
    }

    /**
     * Trains {@code configFile} (with {@code overrides} as {@code --set} gives them, and {@code epochs} when
     * above 0) into {@code runDir}, which is started afresh; with {@code flip}, the model bundle is then
     * tested with flip averaging on the validation split.
     */
    public static Row run(Path configFile, List<String> overrides, int epochs, Path runDir, boolean flip) {
        ConfigNode node = ConfigNode.load(configFile);
        for (String o : overrides) node.set(o);
        if (epochs > 0) node.set("train.epochs=" + epochs);
        RunConfig rc = RunConfig.from(node, Path.of("").toAbsolutePath());
        long t0 = System.nanoTime();
        RunConfig resolved;
        int trainImages;
        try (TrainingRun t =
                TrainingRun.open(rc, runDir, new TrainingRun.Options(true, null, false, null, dir -> {}))) {
            resolved = t.config();
            trainImages = t.trainImages();
            t.trainer().fit();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        List<EpochStats> rows = new MetricsCsv(new RunDir(runDir).metrics(), Integer.MAX_VALUE).rows();
        double last = rows.isEmpty() ? Double.NaN : rows.get(rows.size() - 1).valAcc();
        double best = rows.stream()
                .mapToDouble(EpochStats::valAcc)
                .filter(v -> !Double.isNaN(v))
                .max()
                .orElse(Double.NaN);
        double ema = rows.stream()
                .mapToDouble(EpochStats::emaValAcc)
                .filter(v -> !Double.isNaN(v))
                .max()
                .orElse(Double.NaN);
        double flipAcc = Double.NaN;
        if (flip) {
            TestRun.Options o =
                    new TestRun.Options("model", null, Precision.FP32, null, false, false, 0, true, false, null);
            flipAcc = TestRun.test(List.of(runDir), o).metrics().top1();
        }
        Map<String, Object> m = Bench.machine();
        String bf16 = Boolean.TRUE.equals(m.get("avx512_bf16")) || Boolean.TRUE.equals(m.get("amx_bf16"))
                ? "avx512_bf16 " + m.get("avx512_bf16") + ", amx_bf16 " + m.get("amx_bf16")
                : "none (avx2 " + m.get("avx2") + ", avx512f " + m.get("avx512f") + ")";
        return new Row(
                LocalDate.now().toString(),
                configFile.getFileName().toString(),
                rc.model().name(),
                rows.size(),
                seconds / 60,
                last,
                best,
                ema,
                flipAcc,
                (double) trainImages * rows.size() / seconds,
                resolved.train().precision().word() + " on " + Engine.threads() + " threads",
                String.valueOf(m.get("cpu")),
                bf16);
    }

    /** Appends {@code row} to a Markdown table, writing the header when the file is new (atomically either way). */
    public static void append(Path table, Row row) {
        try {
            String before = Files.isRegularFile(table) ? Files.readString(table) : Row.HEADER;
            AtomicFiles.writeString(table, before + row.markdown());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
