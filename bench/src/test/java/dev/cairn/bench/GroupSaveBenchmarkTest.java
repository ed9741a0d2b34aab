package dev.cairn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.bench.GroupSaveBenchmark.Options;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line of the group benchmark (what it measures is not asserted: no speed in tests).
 */
class GroupSaveBenchmarkTest {
  /**
   * A small run on the local disk with a second rank in its own JVM: every round of every side is
   * measured, the raw files of the ranks' own writes are gone after, and the group's checkpoints
   * too.
   */
  @Test
  void twoRanksSaveAndWriteRawInTheirOwnJvms(@TempDir Path dir) throws Exception {
    Options o =
        Options.parse(
            List.of(
                "--ranks",
                "2",
                "--total-mib",
                "4",
                "--repeat",
                "2",
                "--backends",
                "local",
                "--small-repeat",
                "2",
                "--tensors",
                "2"));
    JsonNode j;
    try (GroupBackend backend = GroupBackend.start("local", dir, o.totalBytes())) {
      j = new ObjectMapper().readTree(GroupSaveBenchmark.measure(backend, 2, o));
    }
    assertThat(j.get("ranks").asInt()).isEqualTo(2);
    for (String runs :
        List.of("raw_runs_s", "group_runs_s", "raw_again_runs_s", "raw_group_runs_s")) {
      assertThat(j.get(runs)).as(runs).hasSize(2);
      j.get(runs).forEach(s -> assertThat(s.asDouble()).as(runs).isPositive());
    }
    assertThat(j.get("group_vs_raw_group").asDouble()).isPositive();
    try (Stream<Path> left = Files.list(dir.resolve("ranks-2/raw-shards"))) {
      assertThat(left).isEmpty();
    }
    try (Stream<Path> left = Files.list(dir.resolve("ranks-2/group"))) {
      assertThat(left.filter(p -> p.getFileName().toString().startsWith("step-"))).isEmpty();
    }
  }

  @Test
  void defaultsAreTheIssuesConfiguration() {
    assertThat(Options.parse(List.of()))
        .isEqualTo(
            new Options(
                List.of(1, 2, 4), 1L << 30, 6, List.of("local", "hdfs"), 50, 4096, 4, true));
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
                "2",
                "--raw-group",
                "false"));
    assertThat(o)
        .isEqualTo(new Options(List.of(1, 2), 64L << 20, 2, List.of("local"), 5, 8192, 2, false));
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
    assertThatThrownBy(() -> Options.parse(List.of("--raw-group", "yes")))
        .hasMessageContaining("--raw-group takes true or false, not yes");
  }
}
