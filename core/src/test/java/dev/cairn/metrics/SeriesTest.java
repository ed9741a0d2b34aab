package dev.cairn.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SeriesTest {
  @TempDir Path dir;

  @Test
  void aResumedSessionReplacesWhatTheLostOneLoggedPastItsCheckpoint() {
    Series s = new Series("loss");
    for (int i = 0; i < 10; i++) {
      s.add(i, 100 + i); // session 1 reached step 9, its last checkpoint was at step 6
    }
    s.add(6, 6.5); // session 2 resumes at step 6
    s.add(7, 7.5);
    double[][] p = s.points(0);
    assertThat(p[0]).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
    assertThat(p[1]).containsExactly(100, 101, 102, 103, 104, 105, 6.5, 7.5);
  }

  @Test
  void addingInBulkKeepsWhatAddingOneByOneKeeps() {
    // Copied in bulk up to where a point goes back, is not finite, or the room ends; each of
    // those cases must end as the same points as adding them one at a time.
    double[] steps = new double[5000];
    double[] values = new double[5000];
    for (int i = 0; i < steps.length; i++) {
      steps[i] = i;
      values[i] = i % 997 == 5 ? Double.NaN : i * 0.5;
    }
    steps[3000] = 2500; // a resumed session: replaces from step 2500 on
    Series oneByOne = new Series("a", 2048);
    Series inBulk = new Series("b", 2048);
    inBulk.reserve(1500);
    oneByOne.add(-1, 7);
    inBulk.add(-1, 7);
    for (int i = 0; i < steps.length; i++) {
      oneByOne.add(steps[i], values[i]);
    }
    inBulk.addAll(steps, values, 1200);
    inBulk.addAll(
        java.util.Arrays.copyOfRange(steps, 1200, 5000),
        java.util.Arrays.copyOfRange(values, 1200, 5000),
        3800);
    assertThat(inBulk.size()).isEqualTo(oneByOne.size());
    assertThat(inBulk.points(Double.NEGATIVE_INFINITY))
        .isDeepEqualTo(oneByOne.points(Double.NEGATIVE_INFINITY));
  }

  @Test
  void readsInPlaceFromAStep() {
    Series s = new Series("lr", 5000);
    for (int i = 0; i < 3000; i++) {
      s.add(i * 2, i);
    }
    int[] range = s.read(1001, (xs, ys, start, end) -> new int[] {start, end});
    assertThat(range).containsExactly(501, 3000);
    assertThat(s.last()).containsExactly(5998, 2999);
  }

  @Test
  void staysWithinItsBoundKeepingTheCurveShape() {
    Series s = new Series("x", 2048);
    for (int i = 0; i < 100_000; i++) {
      s.add(i, i);
    }
    assertThat(s.size()).isLessThanOrEqualTo(2048);
    double[][] p = s.points(0);
    for (int i = 0; i < p[0].length; i++) {
      assertThat(p[1][i]).isEqualTo(p[0][i]); // pairwise averages of y = x stay on y = x
    }
  }

  @Test
  void metricsFileFollowsAGrowingFileAndIgnoresAHalfWrittenLine() throws Exception {
    Path f = dir.resolve("metrics.jsonl");
    Files.writeString(
        f,
        "{\"step\":0,\"loss\":2.0}\n{\"step\":1,\"loss\":1.5}\n{\"step\":2,\"lo",
        StandardCharsets.UTF_8);
    MetricsFile m = new MetricsFile(f, 4096);
    assertThat(m.poll()).isTrue();
    assertThat(m.series("loss").size()).isEqualTo(2);
    assertThat(m.lastStep()).isEqualTo(1);
    Files.writeString(f, "ss\":1.0}\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    assertThat(m.poll()).isTrue();
    assertThat(m.series("loss").points(0)[1]).containsExactly(2.0, 1.5, 1.0);
    assertThat(m.poll()).isFalse();
  }

  @Test
  void aReplacedFileIsReadAgainFromTheStartKeepingOnlyItsOwnPoints() throws Exception {
    Path f = dir.resolve("metrics.jsonl");
    Files.writeString(
        f, "{\"step\":0,\"loss\":9}\n{\"step\":1,\"loss\":8}\n{\"step\":2,\"loss\":7}\n");
    MetricsFile m = new MetricsFile(f, 4096);
    m.poll();
    Files.writeString(f, "{\"step\":0,\"acc\":0.5}\n");
    assertThat(m.poll()).isTrue();
    assertThat(m.metrics()).containsExactly("acc");
    assertThat(m.lastStep()).isZero();
  }

  @Test
  void skipsDamagedLinesAndRecordsWithoutAStep() throws Exception {
    Path f = dir.resolve("metrics.jsonl");
    Files.writeString(
        f,
        "{\"step\":0,\"loss\":1,\"note\":{\"a\":[1,2]},\"time\":\"2026-01-01T00:00:00Z\"}\n"
            + "{\"step\":1,\"loss\":\n"
            + "{\"loss\":5}\n"
            + "\n"
            + "{\"step\":2.0,\"loss\":3}\n");
    MetricsFile m = new MetricsFile(f, 4096);
    m.poll();
    assertThat(m.series("loss").points(0)[0]).containsExactly(0, 2);
    assertThat(m.series("loss").points(0)[1]).containsExactly(1, 3);
  }

  @Test
  void derivesStepsPerSecondFromTimesOfAnyPrecision() throws Exception {
    Path f = dir.resolve("metrics.jsonl");
    Files.writeString(
        f,
        "{\"step\":0,\"time\":\"2026-01-01T00:00:59Z\",\"loss\":1}\n"
            + "{\"step\":10,\"time\":\"2026-01-01T00:00:59.5Z\",\"loss\":1}\n"
            + "{\"step\":20,\"time\":\"2026-01-01T00:01:00.250000001Z\",\"loss\":1}\n"
            + "{\"step\":30,\"time\":\"2026-01-01T00:01:01.000+00:00\",\"loss\":1}\n"
            + "{\"step\":50,\"time\":\"2026-01-01T00:01:03.25Z\",\"loss\":1}\n");
    MetricsFile m = new MetricsFile(f, 4096);
    m.poll();
    double[][] rate = m.series(MetricsFile.STEPS_PER_SECOND).points(0);
    // 20 steps in 1.25 s, then 30 steps in 3.0 s (the +00:00 line parses the slow way, and its
    // 0.75 s window is too short to report).
    assertThat(rate[0]).containsExactly(20, 50);
    assertThat(rate[1][0]).isCloseTo(16.0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(rate[1][1]).isCloseTo(10.0, org.assertj.core.data.Offset.offset(1e-9));
  }
}
