package convnet.report;

import convnet.io.Csv;
import convnet.train.EpochStats;
import convnet.train.TrainListener;
import convnet.train.Trainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * {@code metrics.csv}: one row per finished epoch, rewritten atomically each epoch. It is written
 * before the epoch's checkpoint; on resume, rows after the checkpoint's epoch are dropped, so the
 * curve continues with no gap and no duplicate. TensorBoard and the plots are drawn from these rows.
 */
public final class MetricsCsv implements TrainListener {
    static final String[] COLUMNS = {
        "epoch",
        "lr",
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "val_top5",
        "seconds",
        "step",
        "ema_val_loss",
        "ema_val_acc"
    };
    private final Path file;
    private final List<EpochStats> rows = new ArrayList<>();

    public MetricsCsv(Path file, int resumedEpoch) {
        this.file = file;
        if (resumedEpoch > 0 && Files.isRegularFile(file)) {
            try {
                List<List<String>> table = Csv.parse(Files.readString(file), file.toString());
                for (List<String> row : table.subList(Math.min(1, table.size()), table.size())) {
                    EpochStats s = parse(row.toArray(new String[0])); // 9 columns before the averaged weights' two
                    if (s.epoch() <= resumedEpoch) rows.add(s);
                }
            } catch (IOException | RuntimeException e) {
                rows.clear();
            }
        }
    }

    /** The number of epoch rows in a metrics file: 0 if there is none, {@code Long.MAX_VALUE} if it cannot be read. */
    public static long rowCount(Path csv) {
        if (!Files.isRegularFile(csv)) return 0;
        try (Stream<String> lines = Files.lines(csv)) {
            return lines.filter(l -> !l.isBlank() && !l.startsWith("epoch")).count();
        } catch (IOException | UncheckedIOException e) {
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
                0,
                f.length > 9 ? num(f[9]) : Double.NaN,
                f.length > 10 ? num(f[10]) : Double.NaN);
    }

    private static double num(String s) {
        return s.isEmpty() ? Double.NaN : Double.parseDouble(s);
    }

    @Override
    public void onEpochEnd(Trainer trainer, EpochStats s) {
        rows.add(s);
        // the averaged weights' two columns only in runs that keep an average
        boolean ema = rows.stream().anyMatch(r -> !Double.isNaN(r.emaValAcc()) || !Double.isNaN(r.emaValLoss()));
        Csv csv = new Csv(ema ? COLUMNS : Arrays.copyOf(COLUMNS, 9));
        for (EpochStats r : rows) {
            List<Object> row = new ArrayList<>(List.of(
                    r.epoch(),
                    String.format(Locale.ROOT, "%.6g", r.lr()),
                    String.format(Locale.ROOT, "%.6f", r.trainLoss()),
                    String.format(Locale.ROOT, "%.6f", r.trainAcc()),
                    fmt(r.valLoss()),
                    fmt(r.valAcc()),
                    fmt(r.valTop5()),
                    String.format(Locale.ROOT, "%.2f", r.seconds()),
                    r.step()));
            if (ema) row.addAll(List.of(fmt(r.emaValLoss()), fmt(r.emaValAcc())));
            csv.row(row);
        }
        csv.write(file);
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6f", v);
    }
}
