package dev.cairn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkpoint-count benchmark measures the store it claims to (what it measures is not). */
class CheckpointCountBenchmarkTest {
  @TempDir Path dir;

  @Test
  void aRetentionPassInTheSteadyStateDeletesTheOldestAndKeepsTheCount() throws IOException {
    float[] values = new float[16];
    try (CheckpointStore store = CheckpointCountBenchmark.openStore(dir.resolve("c"))) {
      for (long step = 1; step <= 4; step++) {
        store.save(CheckpointCountBenchmark.checkpoint(step, values));
      }
      assertThat(CheckpointCountBenchmark.retentionPass(store, 3)).containsExactly(1L);
      assertThat(store.list()).extracting(CheckpointInfo::step).containsExactly(2L, 3L, 4L);
      assertThat(CheckpointCountBenchmark.retentionPass(store, 3))
          .as("nothing more to delete")
          .isEmpty();
    }
  }

  @Test
  void eachRoundSeesTheFullHistoryAndTheFolderIsRemovedAfterwards() throws IOException {
    CheckpointCountBenchmark.Result r = CheckpointCountBenchmark.run(dir, 5, 3, 64, false);
    assertThat(r.checkpoints()).isEqualTo(5);
    assertThat(r.listRuns()).hasSize(3).doesNotContain(0.0);
    assertThat(r.retentionRuns()).hasSize(3).doesNotContain(0.0);
    assertThat(r.firstRetentionRuns()).hasSize(3).doesNotContain(0.0);
    assertThat(r.listMillis()).isPositive();
    assertThat(r.retentionMillis()).isPositive();
    assertThat(r.loadLatestMillis()).isPositive();
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.toList()).as("the benchmark cleans up after itself").isEmpty();
    }
  }

  @Test
  void badArgumentsNameTheOption() {
    assertThatThrownBy(() -> CheckpointCountBenchmark.run(dir, 0, 1, 64, false))
        .hasMessageContaining("--counts");
    assertThatThrownBy(() -> CheckpointCountBenchmark.run(dir, 1, 1, 6, false))
        .hasMessageContaining("--tensor-bytes");
  }
}
