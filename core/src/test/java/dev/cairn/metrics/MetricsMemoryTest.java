package dev.cairn.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What following a run costs in memory is bounded by the reader's limits, not by what the file
 * holds (issue 18: one 575 KB line with 40,000 names used to reserve 640 MiB).
 */
class MetricsMemoryTest {
  @TempDir Path dir;

  @Test
  void oneLineWithFortyThousandNamesHoldsOnlyTheFirstNamesAndLittleMemory() throws Exception {
    Path f = dir.resolve("metrics.jsonl");
    StringBuilder line = new StringBuilder("{\"step\":1");
    for (int i = 0; i < 40_000; i++) {
      line.append(",\"m").append(i).append("\":").append(i);
    }
    Files.writeString(f, line.append("}\n"), StandardCharsets.UTF_8);
    PointBudget budget = PointBudget.of(1_000_000);
    MetricsFile m = new MetricsFile(f, 2_000_000, MetricsFile.DEFAULT_MAX_METRICS, budget);
    m.poll();
    assertThat(m.metrics()).hasSize(MetricsFile.DEFAULT_MAX_METRICS).contains("m0", "m9999");
    assertThat(m.series("m10000")).isNull();
    assertThat(m.overLimit()).isTrue();
    // 10,000 series of 8 points each: 1.3 MB, not 40,000 x 1,024 x 16 bytes.
    assertThat(budget.held()).isEqualTo(10_000L * Series.INITIAL_CAPACITY);
    m.close();
    assertThat(budget.held()).isZero();
  }

  @Test
  void aJobLoggingFiveThousandPerLayerMetricsIsFollowedInFull() throws Exception {
    Path f = dir.resolve("metrics.jsonl");
    try (Writer w = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
      for (int step = 0; step < 40; step++) {
        w.write("{\"step\":" + step + ",\"loss\":" + (1.0 / (step + 1)));
        for (int layer = 0; layer < 5_000; layer++) {
          w.write(",\"layer" + layer + "_grad_norm\":" + (layer + step));
        }
        w.write("}\n");
      }
    }
    PointBudget budget = PointBudget.of(10_000_000);
    MetricsFile m = new MetricsFile(f, 2_000_000, MetricsFile.DEFAULT_MAX_METRICS, budget);
    m.poll();
    assertThat(m.metrics()).hasSize(5_001);
    assertThat(m.overLimit()).isFalse();
    assertThat(m.series("layer4999_grad_norm").points(0)[1]).hasSize(40).startsWith(4999, 5000);
    assertThat(m.series("loss").size()).isEqualTo(40);
    assertThat(m.series("layer0_grad_norm").capacity()).isLessThanOrEqualTo(64);
  }

  @Test
  void aSharedBudgetBoundsEverySeriesOnItAndTheCurvesKeepTheirShape() throws Exception {
    PointBudget budget = PointBudget.of(50_000);
    MetricsFile[] files = new MetricsFile[2];
    for (int r = 0; r < files.length; r++) {
      Path f = dir.resolve("run" + r + ".jsonl");
      try (Writer w = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
        for (int step = 0; step < 100_000; step++) {
          w.write("{\"step\":" + step + ",\"a\":" + step + ",\"b\":" + 2 * step + "}\n");
        }
      }
      files[r] = new MetricsFile(f, 2_000_000, 100, budget);
      files[r].poll();
    }
    assertThat(budget.held()).isLessThanOrEqualTo(budget.limit() + 4L * Series.INITIAL_CAPACITY);
    for (MetricsFile m : files) {
      for (String k : new String[] {"a", "b"}) {
        Series s = m.series(k);
        assertThat(s.size()).isGreaterThan(1000);
        double[][] p = s.points(0);
        double slope = k.equals("a") ? 1 : 2;
        for (int i = 0; i < p[0].length; i++) {
          assertThat(p[1][i]).isEqualTo(slope * p[0][i]); // pairwise averages stay on the line
        }
        assertThat(s.last()).containsExactly(99_999, slope * 99_999);
      }
    }
    files[0].close();
    files[1].close();
    assertThat(budget.held()).isZero();
  }

  @Test
  void anUnfinishedLongLineIsNotReadAgainOnEveryPoll() throws Exception {
    Path f = dir.resolve("metrics.jsonl");
    Files.writeString(
        f, "{\"step\":0,\"loss\":1}\n{\"step\":1,\"loss\":0.5", StandardCharsets.UTF_8);
    append(f, " ".repeat(3 << 20)); // a 3 MiB line still being written
    JsonlTail tail = new JsonlTail(f);
    int[] lines = {0};
    JsonlTail.LineSink count = (b, off, len) -> lines[0]++;
    tail.poll(() -> {}, count);
    assertThat(lines[0]).isEqualTo(1);
    long first = tail.bytesRead();
    for (int i = 0; i < 5; i++) {
      append(f, "          ");
      tail.poll(() -> {}, count);
    }
    assertThat(tail.bytesRead() - first).as("only what was appended is read").isEqualTo(50);
    append(f, "}\n{\"step\":2,\"loss\":0.25}\n");
    MetricsFile m = new MetricsFile(f, 4096);
    m.poll();
    tail.poll(() -> {}, count);
    assertThat(lines[0]).isEqualTo(3);
    assertThat(m.series("loss").points(0)[1]).containsExactly(1, 0.5, 0.25);
  }

  @Test
  void aLineOverTheLimitIsSkippedWithoutBeingBuffered() throws Exception {
    Path f = dir.resolve("metrics.jsonl");
    Files.writeString(f, "{\"step\":0,\"loss\":1}\n{\"step\":1,\"loss\":", StandardCharsets.UTF_8);
    append(f, "7".repeat(2000));
    JsonlTail tail = new JsonlTail(f, 1000);
    int[] lines = {0};
    tail.poll(() -> {}, (b, off, len) -> lines[0]++);
    append(f, "}\n{\"step\":2,\"loss\":0.25}\n");
    tail.poll(() -> {}, (b, off, len) -> lines[0]++);
    assertThat(lines[0]).isEqualTo(2);
    assertThat(tail.skippedLines()).isEqualTo(1);
  }

  @Test
  void lastLinesReadsOnlyTheEndOfALongLog() throws Exception {
    Path f = dir.resolve("events.jsonl");
    try (Writer w = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
      for (int i = 0; i < 100_000; i++) {
        w.write("{\"n\":" + i + "}\n");
      }
      w.write("{\"n\":"); // being written
    }
    var last = JsonlTail.lastLines(f, 200, 64 * 1024);
    assertThat(last).hasSize(200);
    assertThat(last.get(0).path("n").asInt()).isEqualTo(99_800);
    assertThat(last.get(199).path("n").asInt()).isEqualTo(99_999);
    assertThat(JsonlTail.lastLines(f, 200, 40)).hasSizeLessThanOrEqualTo(4);
    assertThat(JsonlTail.lastLines(dir.resolve("none.jsonl"), 5, 100)).isEmpty();
  }

  private static void append(Path f, String s) throws IOException {
    Files.writeString(f, s, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
  }
}
