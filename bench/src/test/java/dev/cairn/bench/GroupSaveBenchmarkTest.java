package dev.cairn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.bench.GroupSaveBenchmark.Options;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The command line of the group benchmark (what it measures is not asserted: no speed in tests).
 */
class GroupSaveBenchmarkTest {
  @Test
  void defaultsAreTheIssuesConfiguration() {
    assertThat(Options.parse(List.of()))
        .isEqualTo(
            new Options(List.of(1, 2, 4), 1L << 30, 6, List.of("local", "hdfs"), 50, 4096, 4));
  }

  @Test
  void everyOptionIsRead() {
    Options o =
        Options.parse(
            List.of(
                "--ranks",
                "1,2",
                "--total-mib",
                "64",
                "--repeat",
                "2",
                "--backends",
                "local",
                "--small-repeat",
                "5",
                "--small-kib",
                "8",
                "--tensors",
                "2"));
    assertThat(o).isEqualTo(new Options(List.of(1, 2), 64L << 20, 2, List.of("local"), 5, 8192, 2));
  }

  @Test
  void anOddRepeatIsRefusedSoThatEachSideGoesFirstAsOften() {
    assertThatThrownBy(() -> Options.parse(List.of("--repeat", "3")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--repeat must be even");
  }

  @Test
  void mistakesNameTheOption() {
    assertThatThrownBy(() -> Options.parse(List.of("--backends", "s3a")))
        .hasMessageContaining("--backends takes local and hdfs, not s3a");
    assertThatThrownBy(() -> Options.parse(List.of("--ranks", "1,0")))
        .hasMessageContaining("--ranks must be 1 or more, was 0");
    assertThatThrownBy(() -> Options.parse(List.of("--ranks")))
        .hasMessageContaining("--ranks needs a value");
    assertThatThrownBy(() -> Options.parse(List.of("--total-mib", "x")))
        .hasMessageContaining("--total-mib takes a whole number, not x");
    assertThatThrownBy(() -> Options.parse(List.of("--sizes", "1")))
        .hasMessageContaining("unknown argument --sizes");
  }
}
