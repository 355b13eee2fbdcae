package convnet.report;

import convnet.io.Csv;
import convnet.train.EpochStats;
import convnet.train.TrainListener;
import convnet.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * {@code metrics.csv}: one row per finished epoch, rewritten atomically each epoch. It is written
 * before the epoch's checkpoint; on resume, rows after the checkpoint's epoch are dropped, so the
 * curve continues with no gap and no duplicate. TensorBoard and the plots are drawn from these rows.
 */
public final class MetricsCsv implements TrainListener {
    static final String[] COLUMNS = {
        "epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_top5", "seconds", "step"
    };
    private final Path file;
    private final List<EpochStats> rows = new ArrayList<>();

    public MetricsCsv(Path file, int resumedEpoch) {
        this.file = file;
        if (resumedEpoch > 0 && Files.isRegularFile(file)) {
            try {
                for (String[] row : Csv.read(file, COLUMNS.length)) {
                    EpochStats s = parse(row);
                    if (s.epoch() <= resumedEpoch) rows.add(s);
                }
            } catch (RuntimeException e) {
                rows.clear();
            }
        }
    }

    /** The number of epoch rows in a metrics file: 0 if there is none, {@code Long.MAX_VALUE} if it cannot be read. */
    public static long rowCount(Path csv) {
        if (!Files.isRegularFile(csv)) return 0;
        try (java.util.stream.Stream<String> lines = Files.lines(csv)) {
            return lines.filter(l -> !l.isBlank() && !l.startsWith("epoch")).count();
        } catch (IOException | java.io.UncheckedIOException e) {
            return Long.MAX_VALUE; // unreadable: do not start over on top of it
        }
    }

    public List<EpochStats> rows() {
        return Collections.unmodifiableList(rows);
    }

    static EpochStats parse(String[] f) {
        return new EpochStats(
                Integer.parseInt(f[0]),
                Double.parseDouble(f[1]),
                Double.parseDouble(f[2]),
                Double.parseDouble(f[3]),
                num(f[4]),
                num(f[5]),
                num(f[6]),
                Double.parseDouble(f[7]),
                Long.parseLong(f[8]),
                0);
    }

    private static double num(String s) {
        return s.isEmpty() ? Double.NaN : Double.parseDouble(s);
    }

    @Override
    public void onEpochEnd(Trainer trainer, EpochStats s) {
        rows.add(s);
        Csv csv = new Csv(COLUMNS);
        for (EpochStats r : rows) {
            csv.row(
                    r.epoch(),
                    String.format(Locale.ROOT, "%.6g", r.lr()),
                    String.format(Locale.ROOT, "%.6f", r.trainLoss()),
                    String.format(Locale.ROOT, "%.6f", r.trainAcc()),
                    fmt(r.valLoss()),
                    fmt(r.valAcc()),
                    fmt(r.valTop5()),
                    String.format(Locale.ROOT, "%.2f", r.seconds()),
                    r.step());
        }
        csv.write(file);
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6f", v);
    }
}
