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
      RunView view = new RunCatalog(runs, LIMITS).view(dir);
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

  @Test
  void aFolderNameWinsOverACheckpointNamedLikeAFolder() throws Exception {
    try (Run r = Cairn.open(runs, RunOptions.named("s"))) {
      r.log(0, Map.of("loss", 1.0));
      r.finish(Map.of());
    }
    Path dir = runs.resolve("s");
    try (CheckpointStore store = CheckpointStore.open(dir.resolve("checkpoints"));
        CheckpointTable table = new CheckpointTable()) {
      store.save(
          Checkpoint.at(20).tensors("model", List.of(Tensor.of("w", new float[] {1}, 1))).build());
      // Named through the CLI, which allows any safe name: it must not shadow folder step-20.
      store.save(
          Checkpoint.at(40)
              .name("step-20")
              .tensors("model", List.of(Tensor.of("w", new float[] {2}, 1)))
              .build());
      RunView view = new RunCatalog(runs, LIMITS).view(dir);
      assertThat(table.resolve(view, "step-20").step()).isEqualTo(20);
      assertThat(table.resolve(view, "step-40").step()).isEqualTo(40);
    }
  }

  @Test
  void checkpointsKeptElsewhereAreListedThereAndAReadFailureIsNotDamage() throws Exception {
    try (Run r = Cairn.open(runs, RunOptions.named("far"))) {
      r.finish(Map.of());
    }
    // The run's files here, its checkpoints in another storage (as a copy of a remote run's).
    java.nio.file.Path elsewhere =
        java.nio.file.Files.createDirectories(runs.resolve("far-checkpoints"));
    dev.cairn.testkit.FaultyStorage storage =
        new dev.cairn.testkit.FaultyStorage(dev.cairn.store.Storage.at(elsewhere));
    try (CheckpointStore store = CheckpointStore.builder(storage).open()) {
      for (long step = 1; step <= 2; step++) {
        store.save(
            Checkpoint.at(step)
                .tensors("model", List.of(Tensor.of("w", new float[] {step}, 1)))
                .build());
      }
    }
    // Step 2's tensors cannot be read (a network error); step 1's are fine.
    storage.setHook(
        (i, op, name) -> {
          if (op == dev.cairn.testkit.FaultyStorage.Op.OPEN
              && name.startsWith("step-2")
              && name.endsWith(".safetensors")) {
            throw new java.io.IOException("simulated timeout reading " + name);
          }
        });
    RunView view = new RunCatalog(runs, LIMITS).view(runs.resolve("far"));
    try (CheckpointTable table = new CheckpointTable(run -> storage)) {
      JsonNode rows = table.list(view);
      assertThat(rows).extracting(n -> n.path("step").asLong()).containsExactly(2L, 1L);
      assertThat(rows.get(0).path("path").asText()).isEqualTo(storage.location("step-2"));
      assertThat(rows.get(0).path("verified").asText()).isIn("pending", "unreadable");
      table.awaitChecks(); // the checks the listing queued have their verdicts
      rows = table.list(view);
      assertThat(rows.get(0).path("verified").asText()).isEqualTo("unreadable");
      assertThat(rows.get(0).path("problem").asText()).contains("simulated timeout");
      assertThat(rows.get(1).path("verified").asText()).isEqualTo("ok");
    }
  }

  static final RunCatalog.Limits LIMITS =
      new RunCatalog.Limits(1024, 100, dev.cairn.metrics.PointBudget.of(100_000));
}
