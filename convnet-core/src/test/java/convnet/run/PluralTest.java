package convnet.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PluralTest {
    @Test
    void oneEpochTwoBatches() {
        assertEquals("1 epoch", TrainingRun.plural(1, "epoch"));
        assertEquals("3 epochs", TrainingRun.plural(3, "epoch"));
        assertEquals("1 batch", TrainingRun.plural(1, "batch"));
        assertEquals("4 batches", TrainingRun.plural(4, "batch"));
    }
}
