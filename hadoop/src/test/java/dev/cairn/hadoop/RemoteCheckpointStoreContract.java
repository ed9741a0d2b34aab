package dev.cairn.hadoop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointEvent;
import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.RetentionPolicy;
import dev.cairn.checkpoint.Verification;
import dev.cairn.safetensors.Tensor;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The checkpoint store end to end on a remote backend: what a user gets from {@code
 * CheckpointStore.builder(storage)} must be what the local disk gives.
 */
abstract class RemoteCheckpointStoreContract {
  static final int FLOATS = 50_000;

  /** A fresh, empty checkpoint folder on the backend, as a new storage each call. */
  protected abstract Storage freshStorage() throws IOException;

  /** The same folder seen by another process (a new FileSystem instance). */
  protected abstract Storage sameFolderElsewhere(Storage s) throws IOException;

  protected abstract boolean expectsAtomicRename();

  static float[] weights(long step, long seed) {
    SplittableRandom r = new SplittableRandom(step * 7919 + seed);
    float[] w = new float[FLOATS];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) r.nextGaussian();
    }
    return w;
  }

  static Checkpoint checkpoint(long step, long seed) {
    return Checkpoint.at(step)
        .metric("loss", 1.0 / (step + 1))
        .tensors("model", List.of(Tensor.of("w", weights(step, seed), FLOATS)))
        .json(
            "state",
            com.fasterxml.jackson.databind.node.JsonNodeFactory.instance
                .objectNode()
                .put("step", step)
                .put("seed", seed))
        .build();
  }

  static void assertHolds(LoadedCheckpoint c, long step, long seed) throws IOException {
    assertThat(c.step()).isEqualTo(step);
    assertThat(c.tensors("model").floats("w")).isEqualTo(weights(step, seed));
    assertThat(c.json("state").path("seed").asLong()).isEqualTo(seed);
    // The restore path too: one sequential read, every CRC32C checked.
    ByteBuffer b = ByteBuffer.allocateDirect(FLOATS * 4).order(ByteOrder.LITTLE_ENDIAN);
    c.readTensors("model", t -> b);
    float[] back = new float[FLOATS];
    b.flip().asFloatBuffer().get(back);
    assertThat(back).isEqualTo(weights(step, seed));
  }

  @Test
  void savesLoadVerifyAndRetentionWorkAsOnALocalDisk() throws IOException {
    Storage storage = freshStorage();
    assertThat(storage.capabilities().atomicRename()).isEqualTo(expectsAtomicRename());
    try (CheckpointStore store = CheckpointStore.builder(storage).events(e -> {}).open()) {
      for (long step = 1; step <= 4; step++) {
        store.save(checkpoint(step, 1));
      }
      assertThat(store.applyRetention(RetentionPolicy.builder().keepLast(2).build()))
          .containsExactly(1L, 2L);
      assertThat(store.list()).extracting(CheckpointInfo::step).containsExactly(3L, 4L);
      assertThat(store.verify(3, Verification.FULL).ok()).isTrue();
      try (LoadedCheckpoint latest = store.loadLatestValid().orElseThrow()) {
        assertHolds(latest, 4, 1);
      }
    }
    assertThat(storage.list(""))
        .as("nothing but the checkpoints is left behind")
        .containsExactly("step-3", "step-4");
    assertThat(storage.list("step-4")).doesNotContain(".claim");
    assertThat(CheckpointStore.verifyFolder(storage, "step-4", Verification.FULL).ok())
        .as("what cairn verify runs, on this storage")
        .isTrue();
    assertThat(CheckpointStore.classify(storage, "step-3"))
        .contains(dev.cairn.checkpoint.CheckpointState.COMMITTED);
    assertThat(CheckpointStore.classify(storage, "step-1")).isEmpty();
  }

  @Test
  void anotherMachineResumesFromTheRemoteCheckpoint() throws IOException {
    Storage storage = freshStorage();
    try (CheckpointStore store = CheckpointStore.builder(storage).events(e -> {}).open()) {
      store.save(checkpoint(7, 3));
    }
    try (CheckpointStore elsewhere =
            CheckpointStore.builder(sameFolderElsewhere(storage)).events(e -> {}).open();
        LoadedCheckpoint c = elsewhere.loadLatestValid().orElseThrow()) {
      assertHolds(c, 7, 3);
    }
  }

  @Test
  void aDamagedCheckpointIsSkippedForThePreviousOne() throws IOException {
    Storage storage = freshStorage();
    try (CheckpointStore store = CheckpointStore.builder(storage).events(e -> {}).open()) {
      store.save(checkpoint(1, 1));
      store.save(checkpoint(2, 1));
    }
    // Replace step 2's tensors with bytes of the same length but other content.
    long size = storage.size("step-2/model.safetensors");
    byte[] junk = new byte[(int) size];
    storage.delete("step-2/model.safetensors");
    Storage.Output out = storage.create("step-2/model.safetensors");
    out.write(ByteBuffer.wrap(junk));
    out.sync();
    out.close();
    List<CheckpointEvent> events = new ArrayList<>();
    try (CheckpointStore store =
            CheckpointStore.builder(storage).events(events::add).readOnly(true).open();
        LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
      assertHolds(c, 1, 1);
    }
    assertThat(events)
        .extracting(CheckpointEvent::type)
        .contains(CheckpointEvent.Type.SKIPPED_INVALID);
  }

  @Test
  void anAbandonedSaveIsRemovedOnlyOnceItsClaimIsStale() throws IOException {
    Storage storage = freshStorage();
    try (CheckpointStore store = CheckpointStore.builder(storage).events(e -> {}).open()) {
      store.save(checkpoint(1, 1));
    }
    // What a writer killed mid-save leaves: a claimed folder without a manifest.
    String left = expectsAtomicRename() ? "step-2.tmp-0000abcd" : "step-2";
    storage.createFolder(left);
    Storage.Output claim = storage.create(left + ".claim");
    claim.write(
        ByteBuffer.wrap(
            ("writer=gone\ntime=" + System.currentTimeMillis() + "\n")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    claim.close();
    storage.create(left + "/model.safetensors").close();
    try (CheckpointStore store = CheckpointStore.builder(storage).events(e -> {}).open()) {
      assertThat(storage.exists(left)).as("a fresh claim may be a save in flight").isTrue();
      if (!expectsAtomicRename()) {
        assertThatThrownBy(() -> store.save(checkpoint(2, 1)))
            .isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("another writer is saving step 2");
      }
    }
    try (CheckpointStore store =
        CheckpointStore.builder(storage)
            .staleClaimAfter(java.time.Duration.ZERO)
            .events(e -> {})
            .open()) {
      assertThat(storage.exists(left)).as("a stale claim is a leftover").isFalse();
      assertThat(storage.exists(left + ".claim")).as("and its claim goes with it").isFalse();
      store.save(checkpoint(2, 1));
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertHolds(c, 2, 1);
      }
    }
  }

  @Test
  void twoWritersRacingForOneStepCommitExactlyOnce() throws Exception {
    Storage a = freshStorage();
    Storage b = sameFolderElsewhere(a);
    for (int round = 0; round < 3; round++) {
      long step = 10 + round;
      CyclicBarrier start = new CyclicBarrier(2);
      try (CheckpointStore sa = CheckpointStore.builder(a).events(e -> {}).open();
          CheckpointStore sb = CheckpointStore.builder(b).events(e -> {}).open()) {
        CompletableFuture<Object> fa = race(start, sa, step, 100);
        CompletableFuture<Object> fb = race(start, sb, step, 200);
        Object ra = fa.get(5, TimeUnit.MINUTES);
        Object rb = fb.get(5, TimeUnit.MINUTES);
        List<Object> outcomes = List.of(ra, rb);
        assertThat(outcomes.stream().filter(o -> !(o instanceof Throwable)).count())
            .as("exactly one commits: " + outcomes)
            .isEqualTo(1);
        Throwable lost = (Throwable) (ra instanceof Throwable ? ra : rb);
        // Overlapping, it loses the claim or the publishing rename; starting late, it finds the
        // step committed. Either way it says so and publishes nothing.
        assertThat(lost)
            .isInstanceOf(IllegalStateException.class)
            .hasMessageMatching(
                "(?s).*(another writer .*published nothing|already exists and is intact).*");
        long winnerSeed = ra instanceof Throwable ? 200 : 100;
        try (LoadedCheckpoint c = sa.load(step)) {
          assertHolds(c, step, winnerSeed);
        }
      }
      assertThat(a.list(""))
          .as("nothing of the loser is left")
          .allMatch(n -> n.matches("step-[0-9]+"));
    }
  }

  private static CompletableFuture<Object> race(
      CyclicBarrier start, CheckpointStore store, long step, long seed) {
    Checkpoint c = checkpoint(step, seed);
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            start.await();
            return store.save(c);
          } catch (Exception | AssertionError e) {
            return e;
          }
        });
  }
}
