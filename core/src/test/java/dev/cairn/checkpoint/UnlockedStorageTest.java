package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.store.Storage;
import dev.cairn.testkit.ForwardingStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpoint store on storage without locks (as HDFS and S3 are), with a second writer
 * interleaved at the worst instants: a save that returned always loads, and a loser never deletes
 * or sets aside the winner's checkpoint. Found by review; each of these failed before claims moved
 * beside the work folder and every change to it needed its claim.
 */
class UnlockedStorageTest {
  @TempDir Path dir;

  /** Like HDFS/S3A: no locks. Hooks let a test interleave another writer. */
  static class NoLocks extends ForwardingStorage {
    Runnable afterCreateFolder;
    String renameTarget;
    Runnable onRename;

    String createTarget;
    Runnable onCreate;
    String renamePrefix;
    Runnable beforeRenamePrefix;

    @Override
    public Output create(String name) throws IOException {
      if (name.equals(createTarget) && onCreate != null) {
        Runnable r = onCreate;
        onCreate = null;
        r.run();
      }
      return super.create(name);
    }

    String openTarget;
    Runnable onOpen;

    String syncTarget;
    Runnable onSync;

    @Override
    public void syncFolder(String name) throws IOException {
      super.syncFolder(name);
      if (name.equals(syncTarget) && onSync != null) {
        Runnable r = onSync;
        onSync = null;
        r.run();
      }
    }

    @Override
    public Input open(String name) throws IOException {
      if (name.equals(openTarget) && onOpen != null) {
        Runnable r = onOpen;
        onOpen = null;
        r.run();
      }
      return super.open(name);
    }

    NoLocks(Storage inner) {
      super(inner);
    }

    @Override
    public Capabilities capabilities() {
      Capabilities c = inner.capabilities();
      return new Capabilities(c.atomicRename(), false, false, false, false, true, false);
    }

    @Override
    public void createFolder(String name) throws IOException {
      super.createFolder(name);
      Runnable r = afterCreateFolder;
      afterCreateFolder = null;
      if (r != null) r.run();
    }

    @Override
    public void rename(String from, String to) throws IOException {
      if (renamePrefix != null && to.startsWith(renamePrefix) && beforeRenamePrefix != null) {
        Runnable r = beforeRenamePrefix;
        beforeRenamePrefix = null;
        r.run();
      }
      if (to.equals(renameTarget) && onRename != null) {
        Runnable r = onRename;
        onRename = null;
        r.run();
        throw new IOException("simulated RPC timeout (the rename was not applied)");
      }
      super.rename(from, to);
    }
  }

  static void save(CheckpointStore s, long step) {
    try {
      s.save(Fixtures.checkpoint(step, 1000));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Marker strategy, no locks: B tries the same step while A is inside its save. */
  @Test
  void aSecondWriterOfAStepInFlightIsRefusedAndTouchesNothing() throws Exception {
    Path ck = dir.resolve("ck");
    Files.createDirectories(ck);
    NoLocks a = new NoLocks(Storage.atWithoutAtomicRename(ck));
    NoLocks b = new NoLocks(Storage.atWithoutAtomicRename(ck));
    Throwable[] bFailed = new Throwable[1];
    try (CheckpointStore sa = CheckpointStore.builder(a).events(e -> {}).open();
        CheckpointStore sb = CheckpointStore.builder(b).events(e -> {}).open()) {
      a.afterCreateFolder =
          () -> {
            try {
              sb.save(Fixtures.checkpoint(5, 1000));
            } catch (IOException | RuntimeException e) {
              bFailed[0] = e;
            }
          };
      sa.save(Fixtures.checkpoint(5, 1000));
      assertThat(bFailed[0])
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("another writer is saving step 5")
          .hasMessageContaining("published nothing");
      try (LoadedCheckpoint c = sa.load(5)) {
        Fixtures.assertIntact(c, 1000);
      }
    }
  }

  /** Rename strategy, no locks (HDFS): A's rename fails with a non-FAE IOException after B won. */
  @Test
  void renamePublishFailureWithdrawsTheOtherWritersCheckpoint() throws Exception {
    Path ck = dir.resolve("ck");
    Files.createDirectories(ck);
    NoLocks a = new NoLocks(Storage.at(ck));
    NoLocks b = new NoLocks(Storage.at(ck));
    try (CheckpointStore sa = CheckpointStore.builder(a).events(e -> {}).open();
        CheckpointStore sb = CheckpointStore.builder(b).events(e -> {}).open()) {
      a.renameTarget = "step-5";
      a.onRename = () -> save(sb, 5);
      Throwable t = null;
      try {
        sa.save(Fixtures.checkpoint(5, 1000));
      } catch (Exception e) {
        t = e;
      }
      assertThat(t).as("A's failed rename").isInstanceOf(IOException.class);
      try (LoadedCheckpoint c = sb.load(5)) {
        Fixtures.assertIntact(c, 1000);
      }
    }
  }

  /** A writer makes its folder only after its claim: an unclaimed one is nobody's save. */
  @Test
  void anUnclaimedWorkFolderIsALeftover() throws Exception {
    Path ck = dir.resolve("ck");
    Files.createDirectories(ck.resolve("step-7.tmp-0000abcd"));
    NoLocks b = new NoLocks(Storage.at(ck));
    try (CheckpointStore sb = CheckpointStore.builder(b).events(e -> {}).open()) {
      // A writer makes its folder only after taking its claim: without one, nobody is writing.
      assertThat(ck.resolve("step-7.tmp-0000abcd")).doesNotExist();
    }
  }

  /** Marker, no locks: A's save outlives staleClaimAfter (no heartbeat); B takes over. */
  @Test
  void staleTakeoverThenSlowOwnerDeletesTheNewCheckpoint() throws Exception {
    Path ck = dir.resolve("ck");
    Files.createDirectories(ck);
    NoLocks a = new NoLocks(Storage.atWithoutAtomicRename(ck));
    NoLocks b = new NoLocks(Storage.atWithoutAtomicRename(ck));
    try (CheckpointStore sa = CheckpointStore.builder(a).events(e -> {}).open();
        CheckpointStore sb =
            CheckpointStore.builder(b)
                .staleClaimAfter(java.time.Duration.ZERO)
                .events(e -> {})
                .open()) {
      a.createTarget = "step-5/optimizer.safetensors";
      a.onCreate = () -> save(sb, 5);
      Throwable t = null;
      try {
        sa.save(Fixtures.checkpoint(5, 1000));
      } catch (Exception e) {
        t = e;
      }
      assertThat(t).as("the slow owner fails").isNotNull();
      try (LoadedCheckpoint c = sb.load(5)) {
        Fixtures.assertIntact(c, 1000);
      }
    }
  }

  /** Rename, no locks: a damaged step is left for a person, not set aside by a racing writer. */
  @Test
  void withoutALockADamagedStepIsLeftAloneAndTheSaveSaysWhy() throws Exception {
    Path ck = dir.resolve("ck");
    Files.createDirectories(ck);
    try (CheckpointStore s0 =
        CheckpointStore.builder(new NoLocks(Storage.at(ck))).events(e -> {}).open()) {
      s0.save(Fixtures.checkpoint(5, 1000));
    }
    Path model = ck.resolve("step-5/model.safetensors");
    byte[] bytes = Files.readAllBytes(model);
    bytes[bytes.length - 1] ^= 1;
    Files.write(model, bytes);
    try (CheckpointStore sb =
        CheckpointStore.builder(new NoLocks(Storage.at(ck))).events(e -> {}).open()) {
      assertThatThrownBy(() -> sb.save(Fixtures.checkpoint(5, 1000)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("cannot set it aside safely");
    }
    assertThat(Files.readAllBytes(model)).isEqualTo(bytes);
    try (java.util.stream.Stream<Path> all = Files.list(ck)) {
      assertThat(all.map(p -> p.getFileName().toString())).containsExactly("step-5");
    }
  }

  /**
   * Marker, no locks: B's open reads "no manifest", A commits and releases its claim, B deletes.
   */
  @Test
  void claimReleasedAfterCommitLetsAnotherOpenDeleteTheCommit() throws Exception {
    Path ck = dir.resolve("ck");
    Files.createDirectories(ck);
    NoLocks a = new NoLocks(Storage.atWithoutAtomicRename(ck));
    java.util.concurrent.CountDownLatch paused = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
    a.createTarget = "step-5/manifest.json";
    a.onCreate =
        () -> {
          paused.countDown();
          try {
            go.await();
          } catch (InterruptedException e) {
            throw new RuntimeException(e);
          }
        };
    CheckpointStore sa = CheckpointStore.builder(a).events(e -> {}).open();
    java.util.concurrent.CompletableFuture<SavedCheckpoint> saving =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () -> {
              try {
                return sa.save(Fixtures.checkpoint(5, 1000));
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    paused.await();
    NoLocks b = new NoLocks(Storage.atWithoutAtomicRename(ck));
    b.openTarget = "step-5.claim";
    b.onOpen =
        () -> {
          go.countDown();
          saving.join();
        };
    try (CheckpointStore sb = CheckpointStore.builder(b).events(e -> {}).open()) {
      assertThat(saving.join().step()).isEqualTo(5);
      try (LoadedCheckpoint c = sa.load(5)) {
        Fixtures.assertIntact(c, 1000);
      }
    } finally {
      sa.close();
    }
  }

  /**
   * Marker, no locks: another writer takes A's claim over as stale just after A published. A
   * removes the claim anyway, so the taker, whose rollback deletes only a folder it holds the claim
   * of, leaves A's committed checkpoint alone.
   */
  @Test
  void aPublishedSaveRemovesItsClaimEvenWhenTakenOverSoTheTakerLeavesTheCheckpoint()
      throws Exception {
    Path ck = dir.resolve("ck");
    Files.createDirectories(ck);
    NoLocks a = new NoLocks(Storage.atWithoutAtomicRename(ck));
    Storage b = Storage.atWithoutAtomicRename(ck);
    boolean[] takenOver = new boolean[1];
    a.syncTarget = CommitStrategy.ROOT; // the marker strategy's publish
    a.onSync =
        () -> {
          try {
            takenOver[0] =
                Claim.take(
                    b,
                    "step-5",
                    "taker",
                    java.time.Instant.now().plusSeconds(3600),
                    java.time.Duration.ZERO);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        };
    try (CheckpointStore sa = CheckpointStore.builder(a).events(e -> {}).open()) {
      sa.save(Fixtures.checkpoint(5, 1000));
      assertThat(takenOver[0]).as("the claim was taken over after the publish").isTrue();
      assertThat(Claim.heldBy(b, "step-5", "taker")).isFalse();
      assertThat(ck.resolve("step-5" + Claim.SUFFIX)).doesNotExist();
      try (LoadedCheckpoint c = sa.load(5)) {
        Fixtures.assertIntact(c, 1000);
      }
    }
  }
}
