package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.RetentionPolicy;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import dev.cairn.safetensors.Tensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTableTest {
  @TempDir Path runs;

  @Test
  void flagsTheLatestAndForgetsVerdictsOfDeletedCheckpoints() throws Exception {
    try (Run r = Cairn.open(runs, RunOptions.named("r").totalSteps(10))) {
      r.finish(Map.of());
    }
    Path dir = runs.resolve("r");
    try (CheckpointStore store = CheckpointStore.open(dir.resolve("checkpoints"));
        CheckpointTable table = new CheckpointTable()) {
      for (long step = 1; step <= 3; step++) {
        store.save(
            Checkpoint.at(step)
                .tensors("model", List.of(Tensor.of("w", new float[] {step}, 1)))
                .build());
      }
      RunView view = new RunView(dir, 1024);
      JsonNode rows = table.list(view);
      assertThat(rows).hasSize(3);
      assertThat(rows.get(0).path("step").asLong()).isEqualTo(3);
      assertThat(rows.get(0).path("latest").asBoolean()).isTrue();
      assertThat(rows.get(1).path("latest").asBoolean()).isFalse();
      assertThat(table.remembered()).isEqualTo(3);
      store.applyRetention(RetentionPolicy.builder().keepLast(1).build());
      assertThat(table.list(view)).hasSize(1);
      assertThat(table.remembered()).isEqualTo(1);
    }
  }
}
