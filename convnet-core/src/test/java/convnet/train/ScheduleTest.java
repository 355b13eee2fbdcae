package convnet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The learning rate of each schedule kind at a few points, worked out by hand. */
class ScheduleTest {
    static final double EPS = 1e-12;

    @Test
    void warmUpThenTheKindsCurve() {
        Schedule step = new Schedule(new ScheduleConfig.Step(2, 3, 0.5), 0.1, 20);
        assertEquals(0.05, step.lr(1), 1e-9, "half way through the warm-up");
        assertEquals(0.1, step.lr(2), EPS);
        assertEquals(0.05, step.lr(5), EPS, "one step of 3 epochs after the warm-up");
        Schedule cosine = new Schedule(new ScheduleConfig.Cosine(0, 0.0, 0, 0, 0), 0.1, 10);
        assertEquals(0.05, cosine.lr(5), EPS, "half the anneal");
        assertEquals(0.0, cosine.lr(10), EPS);
        Schedule multi = new Schedule(new ScheduleConfig.MultiStep(0, 0.1, new int[] {2, 4}), 1.0, 10);
        assertEquals(1.0, multi.lr(1.9), EPS);
        assertEquals(0.1, multi.lr(2), EPS);
        assertEquals(0.01, multi.lr(4), 1e-15);
        Schedule one = new Schedule(new ScheduleConfig.OneCycle(0.5, 10, 100), 1.0, 10);
        assertEquals(0.1, one.lr(0), EPS, "starts at base / div_factor");
        assertEquals(1.0, one.lr(5), EPS, "the peak after pct_start of the run");
        assertEquals(0.001, one.lr(10), EPS, "ends at base / div_factor / final_div_factor");
        Schedule restarts = new Schedule(new ScheduleConfig.CosineRestarts(0, 0, 2, 2, 0, 0), 1.0, 10);
        assertEquals(1.0, restarts.lr(2), EPS, "restarts after t_max");
        assertEquals(0.5, restarts.lr(4), EPS, "half way through the second period, twice as long");
    }

    @Test
    void plateauReducesAfterPatienceAndRestoresItsState() {
        ScheduleConfig.Plateau c =
                new ScheduleConfig.Plateau(0, Metric.VAL_LOSS, ScheduleConfig.Plateau.Mode.MIN, 0.5, 1, 0, 0, 0.01);
        Schedule s = new Schedule(c, 0.1, 10);
        s.epochEnd(0, 1.0);
        s.epochEnd(1, 1.0);
        assertEquals(0.1, s.lr(2), EPS, "one bad epoch is within patience");
        s.epochEnd(2, 1.0);
        assertEquals(0.05, s.lr(3), EPS);
        Schedule resumed = new Schedule(c, 0.1, 10);
        resumed.restore(s.state());
        assertEquals(s.state(), resumed.state());
        assertEquals(0.05, resumed.lr(3), EPS);
    }
}
