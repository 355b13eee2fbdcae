package convnet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import convnet.engine.Engine;
import convnet.run.RunConfig;
import convnet.run.TrainingRun;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new stateful feature is its own class and its registration: this listener counts the training batches of
 * the run, and nothing else in the code knows of it, yet every checkpoint holds its count and a resume gives it
 * back.
 */
class StatefulPartTest {
    /** The whole feature: a listener that keeps its state across a resume. */
    static final class BatchCounter implements TrainListener, Stateful {
        long batches;

        @Override
        public void onBatchEnd(Trainer trainer, BatchEnd b) {
            batches++;
        }

        @Override
        public String stateKey() {
            return "batch_counter";
        }

        @Override
        public Map<String, Object> state() {
            return Map.of("batches", batches);
        }

        @Override
        public void restore(Map<String, Object> state) {
            batches = Stateful.integer(state, "batches");
        }
    }

    static long saved(Path run, String folder) throws Exception {
        return new ObjectMapper()
                .readTree(run.resolve("checkpoints")
                        .resolve(folder)
                        .resolve("state.json")
                        .toFile())
                .path("components")
                .path("batch_counter")
                .path("batches")
                .asLong(-1);
    }

    @Test
    void aListenerThatIsStatefulIsSavedAndRestored(@TempDir Path tmp) throws Exception {
        Engine.start(2);
        RunConfig rc = CheckpointFormatTest.setUp(tmp); // stopped at epoch 2, batch 4 of 6; 3 epochs
        Path run = tmp.resolve("run");
        try (TrainingRun t = TrainingRun.open(rc, run, TrainingRun.Options.DEFAULT)) {
            BatchCounter counter = new BatchCounter();
            t.trainer().listen(counter); // the registration
            assertEquals(0, counter.batches, "the old checkpoint has no count: it starts at 0");
            t.trainer().fit();
            assertEquals(2 + 6, counter.batches);
        }
        assertEquals(2, saved(run, "epoch-0002"));
        assertEquals(8, saved(run, "epoch-0003"));
        var again = new TrainingRun.Options(
                false, run.resolve("checkpoints/epoch-0002").toString(), false, null, d -> {});
        try (TrainingRun t = TrainingRun.open(rc, run, again)) {
            BatchCounter counter = new BatchCounter();
            t.trainer().listen(counter);
            assertEquals(2, counter.batches, "given back from the checkpoint it resumes from");
            t.trainer().fit();
            assertEquals(8, counter.batches);
        }
    }
}
