package convnet.report;

import convnet.train.EpochStats;
import convnet.train.TrainListener;
import convnet.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code metrics.csv}: one row per finished epoch. The file is rewritten atomically each epoch; on
 * resume, rows after the checkpoint's epoch are dropped so the curve continues without duplicates.
 */
public final class MetricsCsv implements TrainListener {
    public static final String HEADER = "epoch,lr,train_loss,train_acc,val_loss,val_acc,val_top5,seconds,step";
    private final Path file;
    private final List<String> rows = new ArrayList<>();

    public MetricsCsv(Path file, int resumedEpoch) {
        this.file = file;
        if (resumedEpoch > 0 && Files.isRegularFile(file)) {
            try {
                for (String line : Files.readAllLines(file)) {
                    if (line.isBlank() || line.startsWith("epoch")) continue;
                    int epoch = Integer.parseInt(line.substring(0, line.indexOf(',')));
                    if (epoch <= resumedEpoch) rows.add(line);
                }
            } catch (IOException | RuntimeException e) {
                rows.clear();
            }
        }
    }

    @Override
    public void onEpochEnd(Trainer trainer, EpochStats s) {
        rows.add(String.format(Locale.ROOT, "%d,%.6g,%.6f,%.6f,%s,%s,%s,%.2f,%d", s.epoch(), s.lr(), s.trainLoss(), s.trainAcc(),
                num(s.valLoss()), num(s.valAcc()), num(s.valTop5()), s.seconds(), s.step()));
        Files2.writeString(file, HEADER + "\n" + String.join("\n", rows) + "\n");
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6f", v);
    }
}
