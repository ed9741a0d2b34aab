package dev.cairn.manager;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The resume check on the losses of a real run: {@code demo-losses.txt} is the training loss of
 * every step of {@code cairn demo --steps 6000 --seed 5} (DJL, PyTorch). Its per-batch losses are
 * heavy-tailed and drift, which is what made the earlier mean-and-trend comparison flag one exact
 * resume in twenty (292 of the 5,931 resume points below).
 */
class LossWatchTest {
  static final int WINDOW = 50;
  static final double THRESHOLD = 0.5;

  static double[] losses;

  @BeforeAll
  static void readLosses() throws IOException {
    List<Double> out = new ArrayList<>();
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(
                LossWatchTest.class.getResourceAsStream("demo-losses.txt"),
                StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (!line.startsWith("#")) {
          out.add(Double.parseDouble(line));
        }
      }
    }
    losses = out.stream().mapToDouble(Double::doubleValue).toArray();
    assertThat(losses).hasSize(6000);
  }

  /** A resume at {@code step} with the checkpoint's window and no replays; {@code after} follow. */
  private static LossWatch.Verdict windowResume(long step, double[] after) {
    LossWatch w = new LossWatch(WINDOW, THRESHOLD);
    List<double[]> saved = new ArrayList<>();
    for (long s = step - WINDOW; s < step; s++) {
      saved.add(new double[] {s, losses[(int) s]});
    }
    w.resumedAt(step, saved, Double.NaN, Map.of());
    LossWatch.Verdict v = null;
    for (int i = 0; i < after.length && v == null; i++) {
      v = w.add(step + i, after[i]);
    }
    assertThat(v).as("a verdict after %d losses", after.length).isNotNull();
    assertThat(v.replayed()).isFalse();
    return v;
  }

  private static double[] slice(int from, int count) {
    return java.util.Arrays.copyOfRange(losses, from, from + count);
  }

  @Test
  void anExactResumeWithoutReplaysRaisesNoAlarmAtAnyStepOfTheDemo() {
    List<Long> alarms = new ArrayList<>();
    for (int step = WINDOW; step + LossWatch.COMPARE <= losses.length; step++) {
      if (windowResume(step, slice(step, LossWatch.COMPARE)).jump()) {
        alarms.add((long) step);
      }
    }
    assertThat(alarms).as("resume points with a false loss_jump").isEmpty();
  }

  @Test
  void aResumeOnFreshWeightsWithoutReplaysIsALossJump() {
    // Weights lost (the model started again): the losses after the resume are those of the run's
    // first steps. Any resume point past the steep start must see it.
    for (int step = 500; step + LossWatch.COMPARE <= losses.length; step += 250) {
      LossWatch.Verdict v = windowResume(step, slice(0, LossWatch.COMPARE));
      assertThat(v.jump()).as("resume at %d: %s", step, v).isTrue();
      assertThat(v.after()).isGreaterThan(v.before());
    }
  }

  @Test
  void aLossThatRisesWithinItsOwnSpreadIsNoJumpButOneBeyondItIs() {
    int step = 4000;
    double[] after = slice(step, LossWatch.COMPARE);
    // Every loss 40% higher: the median moves less than the threshold.
    double[] mild = after.clone();
    for (int i = 0; i < mild.length; i++) {
      mild[i] *= 1.4;
    }
    assertThat(windowResume(step, mild).jump()).isFalse();
    // Every loss three times higher (an optimizer state lost, an Adam step blown up): a jump.
    double[] tripled = after.clone();
    for (int i = 0; i < tripled.length; i++) {
      tripled[i] *= 3;
    }
    LossWatch.Verdict v = windowResume(step, tripled);
    assertThat(v.jump()).isTrue();
    assertThat(v.z()).isGreaterThan(LossWatch.WINDOW_Z);
    // One huge batch among normal ones moves no median: no jump.
    double[] spike = after.clone();
    spike[3] = 1000 * spike[3];
    assertThat(windowResume(step, spike).jump()).isFalse();
  }

  @Test
  void replayedStepsOfTheDemoAreComparedExactly() {
    int step = 3000;
    Map<Long, Double> logged = new TreeMap<>();
    for (long s = step - WINDOW; s < step + LossWatch.COMPARE; s++) {
      logged.put(s, losses[(int) s]);
    }
    LossWatch exact = new LossWatch(WINDOW, THRESHOLD);
    exact.resumedAt(step, List.of(), Double.NaN, logged);
    LossWatch.Verdict v = null;
    for (int s = step; v == null; s++) {
      v = exact.add(s, losses[s]);
    }
    assertThat(v.replayed()).isTrue();
    assertThat(v.exact()).isTrue();
    assertThat(v.jump()).isFalse();

    // The same steps on other data (the data position lost: the batches of an earlier epoch):
    // other losses on the same steps, far beyond the noise.
    LossWatch other = new LossWatch(WINDOW, THRESHOLD);
    other.resumedAt(step, List.of(), Double.NaN, logged);
    v = null;
    for (int s = step; v == null; s++) {
      v = other.add(s, losses[s - 1000]);
    }
    assertThat(v.replayed()).isTrue();
    assertThat(v.jump()).isTrue();
  }
}
