package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import dev.cairn.testkit.ForwardingStorage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a job pays at start and per save must not grow with the checkpoints it keeps: counted in
 * manifest reads (each one a file open, a round trip on remote storage), not in time.
 */
class HistoryCostTest {
  @TempDir Path dir;
  final List<CheckpointEvent> events = new ArrayList<>();

  /** Storage that counts how often a manifest is opened. */
  static final class CountingStorage extends ForwardingStorage {
    final AtomicInteger manifestOpens = new AtomicInteger();

    CountingStorage(Storage inner) {
      super(inner);
    }

    @Override
    public Input open(String name) throws IOException {
      count(name);
      return super.open(name);
    }

    @Override
    public Input openSequential(String name) throws IOException {
      count(name);
      return super.openSequential(name);
    }

    @Override
    public Listing listing(String folder) {
      return Listing.byName(this, folder); // opens come back here, to be counted
    }

    private void count(String name) {
      if (StorageNames.last(name).equals(Manifest.FILE_NAME)) {
        manifestOpens.incrementAndGet();
      }
    }

    int take() {
      return manifestOpens.getAndSet(0);
    }
  }

  private static Storage local(Path folder, boolean atomicRename) {
    return atomicRename ? Storage.at(folder) : Storage.atWithoutAtomicRename(folder);
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void openLoadAndRetentionReadManifestsByPolicyNotByHistory(boolean atomicRename)
      throws IOException {
    Path folder = dir.resolve("history");
    // 40 checkpoints, every other one kept by keep-every: the history a long job accumulates.
    RetentionPolicy policy = RetentionPolicy.builder().keepLast(2).keepEvery(2).build();
    try (CheckpointStore store =
        CheckpointStore.builder(local(folder, atomicRename)).events(e -> {}).open()) {
      for (long step = 1; step <= 40; step++) {
        store.save(Fixtures.checkpoint(step, 16));
      }
    }
    CountingStorage counting = new CountingStorage(local(folder, atomicRename));
    try (CheckpointStore store = CheckpointStore.builder(counting).events(events::add).open()) {
      assertThat(counting.take()).as("manifests read to open the store").isZero();
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(40);
      }
      assertThat(counting.take()).as("manifests read to find the newest").isEqualTo(1);

      store.save(Fixtures.checkpoint(41, 16));
      counting.take();
      List<Long> odd = new ArrayList<>();
      for (long step = 1; step < 40; step += 2) {
        odd.add(step);
      }
      assertThat(store.applyRetention(policy)).isEqualTo(odd);
      counting.take(); // the first pass reads what it may delete, once

      for (long step = 42; step <= 47; step++) {
        store.save(Fixtures.checkpoint(step, 16));
        counting.take();
        List<Long> deleted = store.applyRetention(policy);
        int reads = counting.take();
        // An odd step leaves the last two at the next save; an even one is kept by keep-every.
        assertThat(deleted).isEqualTo(step % 2 == 1 ? List.of(step - 2) : List.of());
        // The new step, the other keep-last one read again (a remembered manifest that counts as
        // kept is checked), the proof (its manifest and its verification) and the one deleted:
        // the 20-odd kept checkpoints are not read again. Reading every manifest would be 23+.
        assertThat(reads)
            .as("manifests read by the pass after saving step %d", step)
            .isLessThanOrEqualTo(6);
      }
      assertThat(store.list()).hasSize(23 + 1); // steps 2, 4, ..., 46 and 47
    }
  }

  @Test
  void aManifestDamagedAfterRetentionReadItIsLeftForAPerson() throws IOException {
    Path folder = dir.resolve("damaged-later");
    try (CheckpointStore store = CheckpointStore.builder(folder).events(events::add).open()) {
      for (long step = 1; step <= 4; step++) {
        store.save(Fixtures.checkpoint(step, 16));
      }
      // This pass reads (and remembers) every manifest and deletes nothing.
      assertThat(store.applyRetention(RetentionPolicy.builder().keepLast(4).build())).isEmpty();
      Files.write(folder.resolve("step-1/manifest.json"), "{".getBytes(StandardCharsets.UTF_8));
      Files.write(folder.resolve("step-4/manifest.json"), "{".getBytes(StandardCharsets.UTF_8));
      // As if every manifest were read now: step 4 is damaged, so step 3 is the newest kept and
      // proves the others may go; step 1 is damaged, so it is left for a person.
      assertThat(store.applyRetention(RetentionPolicy.builder().keepLast(1).build()))
          .containsExactly(2L);
      assertThat(states(store)).isEqualTo("1:DAMAGED 3:COMMITTED 4:DAMAGED");
    }
  }

  @Test
  void aKeptCheckpointDamagedSinceItWasRememberedDoesNotCountAsKept() throws IOException {
    Path folder = dir.resolve("kept-damaged");
    RetentionPolicy lastThree = RetentionPolicy.builder().keepLast(3).build();
    try (CheckpointStore store = CheckpointStore.builder(folder).events(events::add).open()) {
      for (long step = 1; step <= 3; step++) {
        store.save(Fixtures.checkpoint(step, 16));
      }
      assertThat(store.applyRetention(lastThree)).isEmpty(); // remembers steps 1 to 3
      Files.write(folder.resolve("step-3/manifest.json"), "{".getBytes(StandardCharsets.UTF_8));
      store.save(Fixtures.checkpoint(4, 16));
      // Read afresh, the three newest committed are 4, 2 and 1: nothing goes.
      assertThat(store.applyRetention(lastThree)).isEmpty();
      assertThat(states(store)).isEqualTo("1:COMMITTED 2:COMMITTED 3:DAMAGED 4:COMMITTED");
    }
  }

  @Test
  void theBestDamagedSinceItWasRememberedGivesWayToTheNextBest() throws IOException {
    Path folder = dir.resolve("best-damaged");
    RetentionPolicy best =
        RetentionPolicy.builder().keepLast(1).keepBest(1, "loss", RetentionPolicy.Goal.MIN).build();
    double[] loss = {Double.NaN, 0.5, 0.1, 0.4, 0.5}; // by step; step 2 is the best
    try (CheckpointStore store = CheckpointStore.builder(folder).events(events::add).open()) {
      for (int step = 1; step <= 3; step++) {
        store.save(withLoss(step, loss[step]));
      }
      assertThat(store.applyRetention(best)).containsExactly(1L); // remembers 2 and 3
      Files.write(folder.resolve("step-2/manifest.json"), "{".getBytes(StandardCharsets.UTF_8));
      store.save(withLoss(4, loss[4]));
      // Read afresh: 2 is damaged (left for a person), 4 is the newest and 3 the best of the rest.
      assertThat(store.applyRetention(best)).isEmpty();
      assertThat(states(store)).isEqualTo("2:DAMAGED 3:COMMITTED 4:COMMITTED");
    }
  }

  /** Every listed checkpoint as "step:STATE", oldest first: what a person sees in the folder. */
  private static String states(CheckpointStore store) throws IOException {
    StringBuilder b = new StringBuilder();
    for (CheckpointInfo c : store.list()) {
      b.append(b.length() == 0 ? "" : " ").append(c.step()).append(':').append(c.state());
    }
    return b.toString();
  }

  private static Checkpoint withLoss(long step, double loss) {
    return Checkpoint.at(step)
        .metric("loss", loss)
        .tensors("model", List.of(dev.cairn.safetensors.Tensor.of("w", new float[] {step}, 1)))
        .build();
  }

  @Test
  void aSaveInFlightIsNeitherLoadedNorReportedAsSkipped() throws IOException {
    Path folder = dir.resolve("in-flight");
    Storage storage = Storage.atWithoutAtomicRename(folder);
    try (CheckpointStore store = CheckpointStore.builder(storage).events(events::add).open()) {
      store.save(Fixtures.checkpoint(1, 16));
      store.save(Fixtures.checkpoint(2, 16));
      // Under the marker strategy a save writes straight into step-3; its manifest comes last.
      storage.createFolder("step-3");
      storage.write("step-3/model.safetensors", out -> {});
      events.clear();
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(2);
      }
      assertThat(events).isEmpty();
      // A damaged one is skipped and said so, as before.
      Files.write(folder.resolve("step-2/manifest.json"), "{".getBytes(StandardCharsets.UTF_8));
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(1);
      }
      assertThat(events)
          .extracting(CheckpointEvent::type, CheckpointEvent::step)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple(CheckpointEvent.Type.SKIPPED_INVALID, 2L));
    }
  }
}
