package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class DownsamplingTest {
  @Test
  void keepsEverythingWhenThereIsRoom() {
    double[] xs = {0, 1, 2, 3, 4};
    double[] ys = {5, 4, 3, 2, 1};
    assertThat(Downsampling.lttb(xs, ys, 0, 5, 10)).containsExactly(0, 1, 2, 3, 4);
    assertThat(Downsampling.lttb(xs, ys, 2, 5, 10)).containsExactly(2, 3, 4);
    assertThat(Downsampling.lttb(xs, ys, 3, 3, 10)).isEmpty();
  }

  @Test
  void thinsAMillionPointsToTheWidthAskedKeepingEndsAndSpikes() {
    int n = 1_000_000;
    double[] xs = new double[n];
    double[] ys = new double[n];
    Random r = new Random(7);
    for (int i = 0; i < n; i++) {
      xs[i] = i;
      ys[i] = 1.0 / (1 + i * 1e-4) + r.nextGaussian() * 0.01;
    }
    ys[654_321] = 50; // one loss spike among a million points
    ys[123_456] = -40;
    int[] at = Downsampling.lttb(xs, ys, 0, n, 2000);
    assertThat(at).hasSize(2000);
    assertThat(at[0]).isZero();
    assertThat(at[at.length - 1]).isEqualTo(n - 1);
    for (int i = 1; i < at.length; i++) {
      assertThat(at[i]).isGreaterThan(at[i - 1]);
    }
    assertThat(at).contains(654_321, 123_456);
  }

  @Test
  void aSmallBudgetStillKeepsTheEnds() {
    double[] xs = {0, 1, 2, 3, 4, 5};
    double[] ys = {1, 9, 2, 8, 3, 7};
    assertThat(Downsampling.lttb(xs, ys, 0, 6, 2)).containsExactly(0, 5);
    assertThat(Downsampling.lttb(xs, ys, 0, 6, 1)).containsExactly(0);
    assertThat(Downsampling.lttb(xs, ys, 0, 6, 3)).hasSize(3).startsWith(0).endsWith(5);
  }

  @Test
  void movingAverageAtChosenPointsMatchesTheDefinition() {
    double[] ys = new double[500];
    Random r = new Random(3);
    for (int i = 0; i < ys.length; i++) {
      ys[i] = r.nextDouble();
    }
    int start = 100;
    int[] at = {100, 101, 150, 151, 299, 400, 499};
    int window = 25;
    double[] ma = Downsampling.movingAverageAt(ys, start, at, window);
    for (int j = 0; j < at.length; j++) {
      int lo = Math.max(start, at[j] - window + 1);
      double sum = 0;
      for (int i = lo; i <= at[j]; i++) {
        sum += ys[i];
      }
      assertThat(ma[j])
          .isCloseTo(sum / (at[j] - lo + 1), org.assertj.core.data.Offset.offset(1e-12));
    }
    assertThat(Downsampling.movingAverageAt(ys, 0, new int[] {3, 9}, 1))
        .containsExactly(ys[3], ys[9]);
  }
}
