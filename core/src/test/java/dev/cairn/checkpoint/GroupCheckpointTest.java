package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.cairn.coordination.CoordinationException;
import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.TestGroups;
import dev.cairn.safetensors.SafetensorsFile;
import dev.cairn.safetensors.Tensor;
import dev.cairn.store.Storage;
import dev.cairn.testkit.FaultyStorage;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** N ranks as N threads of one JVM saving and loading one checkpoint together over loopback. */
@Timeout(120)
class GroupCheckpointTest {
  private static final Duration T = Duration.ofMinutes(1);

  @TempDir Path dir;

  private final List<Coordinator> group = new ArrayList<>();
  private final List<CheckpointStore> stores = new ArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void closeAll() throws IOException {
    threads.shutdownNow();
    for (CheckpointStore s : stores) {
      s.close();
    }
    group.forEach(Coordinator::close);
  }

  private <T> List<T> everyRank(TestGroups.RankCall<T> call) throws Exception {
    return TestGroups.onEveryRank(group.size(), call);
  }

  private List<Throwable> failures(TestGroups.RankCall<?> call) throws InterruptedException {
    return TestGroups.failures(group.size(), call);
  }

  private void openGroup(int world) throws Exception {
    openGroup(world, r -> Storage.at(dir));
  }

  private void openGroup(int world, TestGroups.RankCall<Storage> storage) throws Exception {
    group.addAll(TestGroups.open(world));
    stores.addAll(
        everyRank(
            r ->
                CheckpointStore.builder(dir)
                    .storage(storage.call(r))
                    .coordinator(group.get(r))
                    .groupTimeout(T)
                    .events(e -> {})
                    .open()));
  }

  /** Rank r's share of step: its own model shard, its data cursor. */
  private static Checkpoint share(long step, int rank) {
    return Checkpoint.at(step)
        .metric("loss", 1.0 / (step + 1))
        .tensors(
            "model",
            List.of(Tensor.of("w", Fixtures.weights(step * 100 + rank, 1000), 1000)),
            Map.of("rank", Integer.toString(rank)))
        .json("cursor", JsonNodeFactory.instance.objectNode().put("rank", rank).put("step", step))
        .build();
  }

  private static void assertShare(LoadedCheckpoint c, long step, int rank) throws IOException {
    assertThat(c.step()).isEqualTo(step);
    assertThat(c.rank()).isEqualTo(rank);
    assertThat(c.parts()).containsExactly("model", "cursor");
    assertThat(c.tensors("model").floats("w")).isEqualTo(Fixtures.weights(step * 100 + rank, 1000));
    assertThat(c.json("cursor").path("rank").asInt()).isEqualTo(rank);
  }

  @Test
  void ranksSaveOneCheckpointAndEachLoadsItsOwnShare() throws Exception {
    openGroup(3);
    List<SavedCheckpoint> saved = everyRank(r -> stores.get(r).save(share(10, r)));
    for (SavedCheckpoint s : saved) {
      assertThat(s.step()).isEqualTo(10);
      assertThat(s.manifest().worldSize()).isEqualTo(3);
      assertThat(s.manifest().files()).hasSize(6);
    }
    Path step = dir.resolve("step-10");
    for (int r = 0; r < 3; r++) {
      // Each rank's file is a plain safetensors file, in the rank's folder.
      try (SafetensorsFile f =
          SafetensorsFile.open(step.resolve("rank-" + r + "/model.safetensors"))) {
        assertThat(f.floats("w")).isEqualTo(Fixtures.weights(1000 + r, 1000));
      }
    }
    assertThat(CheckpointStore.verifyFolder(step, Verification.FULL).ok()).isTrue();
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("step-")))
          .containsExactly("step-10"); // no work folder left
    }

    List<LoadedCheckpoint> loaded = everyRank(r -> stores.get(r).loadLatestValid().orElseThrow());
    for (int r = 0; r < 3; r++) {
      assertShare(loaded.get(r), 10, r);
      loaded.get(r).close();
    }
  }

  @Test
  void oneRankFailingAbortsTheSaveOnEveryRankAndThePreviousStaysTheLatest() throws Exception {
    FaultyStorage faulty = new FaultyStorage(Storage.at(dir));
    openGroup(3, r -> r == 2 ? faulty : Storage.at(dir));
    everyRank(r -> stores.get(r).save(share(10, r)));
    faulty.setHook(
        (index, op, name) -> {
          if (op == FaultyStorage.Op.OUTPUT_WRITE && name.contains("step-20")) {
            throw new IOException("simulated write failure on rank 2");
          }
        });
    List<Throwable> failed = failures(r -> stores.get(r).save(share(20, r)));
    assertThat(failed).allSatisfy(t -> assertThat(t).isNotNull());
    assertThat(failed.get(0)).hasMessageContaining("rank 2");
    assertThat(Files.exists(dir.resolve("step-20"))).isFalse();
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("step-")))
          .containsExactly("step-10");
    }
    List<LoadedCheckpoint> loaded = everyRank(r -> stores.get(r).loadLatestValid().orElseThrow());
    for (int r = 0; r < 3; r++) {
      assertShare(loaded.get(r), 10, r);
      loaded.get(r).close();
    }
    // The group goes on: the next save works.
    everyRank(r -> stores.get(r).save(share(30, r)));
    assertThat(stores.get(0).list()).extracting(CheckpointInfo::step).containsExactly(10L, 30L);
  }

  @Test
  void theOtherRanksLearnTheCommittedManifestFromRankZeroNotFromStorage() throws Exception {
    // Reading it back would cost a round trip on remote storage, and would fail when the step is
    // deleted or moved right after rank 0's save returns.
    FaultyStorage faulty = new FaultyStorage(Storage.at(dir));
    openGroup(2, r -> r == 1 ? faulty : Storage.at(dir));
    faulty.setHook(
        (index, op, name) -> {
          if (name.endsWith(Manifest.FILE_NAME)) {
            throw new IOException("rank 1 must not read " + name);
          }
        });
    List<SavedCheckpoint> saved = everyRank(r -> stores.get(r).save(share(10, r)));
    assertThat(saved.get(1).manifest()).isEqualTo(saved.get(0).manifest());
    assertThat(saved.get(1).manifest().worldSize()).isEqualTo(2);
  }

  @Test
  void ranksSavingDifferentStepsSaveNothing() throws Exception {
    openGroup(2);
    List<Throwable> failed = failures(r -> stores.get(r).save(share(r == 0 ? 10 : 11, r)));
    assertThat(failed.get(1)).hasMessageContaining("every rank saves the same step");
    assertThat(failed.get(0)).hasMessageContaining("rank 1");
    assertThat(stores.get(0).list()).isEmpty();
  }

  @Test
  void aRankThatCannotCaptureItsStateFailsTheSaveAtOnce() throws Exception {
    openGroup(2);
    List<Throwable> failed =
        failures(
            r -> {
              if (r == 1) {
                stores.get(r).abandonSave(10, new IllegalStateException("snapshot failed"));
                return null;
              }
              return stores.get(r).save(share(10, r));
            });
    assertThat(failed.get(0)).hasMessageContaining("rank 1: snapshot failed");
    assertThat(failed.get(1)).hasMessageContaining("snapshot failed");
    assertThat(stores.get(0).list()).isEmpty();
  }

  @Test
  void aTruncatedShardIsFoundAndEveryRankFallsBackToTheSameStep() throws Exception {
    openGroup(3);
    everyRank(r -> stores.get(r).save(share(10, r)));
    everyRank(r -> stores.get(r).save(share(20, r)));
    Path shard = dir.resolve("step-20/rank-1/model.safetensors");
    try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 100);
    }
    List<LoadedCheckpoint> loaded = everyRank(r -> stores.get(r).loadLatestValid().orElseThrow());
    for (int r = 0; r < 3; r++) {
      assertShare(loaded.get(r), 10, r); // rank 0 and 2's shares of step 20 are intact, yet
      loaded.get(r).close();
    }
    assertThat(CheckpointStore.verifyFolder(dir.resolve("step-20"), Verification.SIZES).ok())
        .isFalse();
  }

  @Test
  void aCheckpointOfAnotherWorldSizeIsRefusedWithTheNumberToUse() throws Exception {
    openGroup(2);
    everyRank(r -> stores.get(r).save(share(10, r)));
    for (CheckpointStore s : stores) {
      s.close();
    }
    stores.clear();
    try (CheckpointStore alone = CheckpointStore.builder(dir).events(e -> {}).open()) {
      assertThatThrownBy(alone::loadLatestValid)
          .isInstanceOf(WorldSizeMismatchException.class)
          .hasMessageContaining("was saved by 2 ranks and this job has 1 process")
          .hasMessageContaining("cairn launch --nproc 2");
    }
  }

  @Test
  void aRankLostMidSaveAbortsItAndTheLeaderRemovesTheWorkFolder() throws Exception {
    openGroup(2);
    everyRank(r -> stores.get(r).save(share(10, r)));
    // Rank 1 leaves before its share arrives: rank 0's save fails naming it, at once.
    Future<SavedCheckpoint> leader = threads.submit(() -> stores.get(0).save(share(20, 0)));
    group.get(1).close();
    assertThatThrownBy(leader::get)
        .hasCauseInstanceOf(CoordinationException.class)
        .hasMessageContaining("rank 1");
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("step-")))
          .containsExactly("step-10");
    }
    Optional<LoadedCheckpoint> latest;
    try (CheckpointStore reader = CheckpointStore.builder(dir).readOnly(true).open()) {
      assertThat(reader.list()).extracting(CheckpointInfo::step).containsExactly(10L);
    }
  }
}
