package dev.cairn.hadoop;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.checkpoint.CheckpointEvent;
import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.SavedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.checkpoint.VerifyResult;
import dev.cairn.coordination.Coordinator;
import dev.cairn.store.Storage;
import dev.cairn.testkit.FaultyStorage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One checkpoint from three ranks on a remote backend, one rank dying at each point of the group
 * save: three child JVMs, each rank's store on the backend, the victim halting (as kill -9) at the
 * protocol point of the second save. A reader then sees the previous checkpoint or the new one,
 * whole, never a mix; a new group resumes every rank's own share of that step and removes what the
 * dead save left. And a damaged shard of one rank, caught by its size or its digests, sends every
 * rank back to the same earlier step.
 */
abstract class RemoteGroupCrashContract {
  private static final int WORLD = 3;

  /** The backend every rank's store is on. */
  protected abstract RemoteBackend backend();

  private final List<Process> running = new ArrayList<>();
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void stopEverything() throws Exception {
    running.forEach(Process::destroyForcibly);
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  @ParameterizedTest
  @EnumSource(GroupSavingChild.Point.class)
  void aRankKilledAtAnyPointLeavesThePreviousOrTheNewCheckpointWhole(GroupSavingChild.Point point)
      throws Exception {
    URI root = backend().freshRoot("group");
    Storage storage = backend().storage(root);
    int victim = point.victim();
    long t0 = System.nanoTime();
    List<List<String>> out =
        group(point + "-save", "save", root.toString(), Integer.toString(victim), point.name());
    for (int r = 0; r < WORLD; r++) {
      assertThat(out.get(r)).as("rank %d", r).first().isEqualTo("saved 10");
    }
    assertThat(out.get(victim)).as("the victim died during the save").hasSize(1);
    for (int r = 0; r < WORLD; r++) {
      if (r != victim) {
        // They noticed at once (their timeout is minutes); none of them publishes on its own.
        assertThat(out.get(r)).as("rank %d", r).last().asString().startsWith("failed 20");
      }
    }
    boolean committed = point == GroupSavingChild.Point.AFTER_PUBLISH;
    List<String> checkpoints = committed ? List.of("step-10", "step-20") : List.of("step-10");

    // What a reader sees now: whole checkpoints only, the new one only once it was published.
    long t1 = System.nanoTime();
    assertOnlyWhole(storage, checkpoints);
    if (victim == 0) {
      // The dead leader's claim is fresh: an open cannot tell its writer from a slow one, so what
      // the claim guards stays (documented: removed once older than staleClaimAfter) and is still
      // not listed.
      List<String> left = leftovers(storage, checkpoints);
      assertThat(left).as("the dead leader's claim").anyMatch(n -> n.matches("step-20.*\\.claim"));
      if (!committed) {
        assertThat(left)
            .as("its work folder")
            .anyMatch(n -> n.startsWith("step-20") && !n.endsWith(".claim"));
      }
      CheckpointStore.builder(storage).events(e -> {}).open().close(); // a writer's open cleans up
      assertThat(leftovers(storage, checkpoints)).isEqualTo(left);
      assertOnlyWhole(storage, checkpoints);
    }

    // A new group, long after (staleClaimAfter zero): rank 0 removes the leftovers, and every rank
    // resumes from its own share of the same step.
    long t2 = System.nanoTime();
    String expected = "resumed " + (committed ? 20 : 10) + " own";
    List<List<String>> resumed = group(point + "-resume", "resume", root.toString());
    for (int r = 0; r < WORLD; r++) {
      assertThat(resumed.get(r)).as("rank %d", r).containsExactly(expected);
    }
    assertThat(present(storage)).as("the leftovers are gone").isEqualTo(checkpoints);
    System.out.printf(
        "%s %s: save group %d ms, checks %d ms, resume group %d ms%n",
        getClass().getSimpleName(),
        point,
        (t1 - t0) / 1_000_000,
        (t2 - t1) / 1_000_000,
        (System.nanoTime() - t2) / 1_000_000);
  }

  /** A read-only store lists exactly {@code checkpoints}, each whole to the last digest. */
  private static void assertOnlyWhole(Storage storage, List<String> checkpoints)
      throws IOException {
    try (CheckpointStore reader = CheckpointStore.builder(storage).readOnly(true).open()) {
      List<String> listed = new ArrayList<>();
      for (CheckpointInfo c : reader.list()) {
        listed.add("step-" + c.step());
        assertThat(c.committed()).as("step %d", c.step()).isTrue();
        VerifyResult whole = reader.verify(c.step(), Verification.FULL);
        assertThat(whole.ok()).as("step %d is whole: %s", c.step(), whole.problems()).isTrue();
      }
      assertThat(listed).isEqualTo(checkpoints);
    }
  }

  /** Everything in the checkpoint folder but the checkpoints. */
  private static List<String> leftovers(Storage storage, List<String> checkpoints)
      throws IOException {
    List<String> out = present(storage);
    out.removeAll(checkpoints);
    return out;
  }

  /**
   * The names in the checkpoint folder that exist. S3Proxy's file-system store lists every folder
   * on its own disk as a prefix, even one a delete emptied while a write raced it (a rank still
   * writing its share while rank 0 rolls the save back), and S3A then finds nothing under that
   * name. S3 itself has no prefix without an object, so such a name is not counted.
   */
  private static List<String> present(Storage storage) throws IOException {
    List<String> out = new ArrayList<>();
    for (String n : storage.list("")) {
      if (storage.exists(n)) {
        out.add(n);
      }
    }
    return out;
  }

  /** Runs one group of child JVMs to their end; each rank's output lines, by rank. */
  private List<List<String>> group(String label, String... args) throws Exception {
    int port = LoopbackGroup.freePort();
    Path logs = Files.createDirectories(Path.of("target", "group-children"));
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("-Xmx256m");
    // Six short-lived JVMs a test on two cores: C1 alone and the serial collector halve their CPU.
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-XX:+UseSerialGC");
    cmd.add(GroupSavingChild.class.getName());
    cmd.addAll(List.of(args));
    backend().settings().forEach((key, value) -> cmd.add(key + "=" + value));
    List<Process> ps = new ArrayList<>();
    for (int r = 0; r < WORLD; r++) {
      String log = getClass().getSimpleName() + "-" + label + "-rank-" + r + ".log";
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(logs.resolve(log).toFile());
      pb.environment().keySet().removeIf(k -> k.startsWith("SLURM_") || k.startsWith("OMPI_"));
      pb.environment().putAll(LoopbackGroup.environment(r, WORLD, port));
      Process p = pb.start();
      running.add(p);
      ps.add(p);
    }
    List<List<String>> out = new ArrayList<>();
    for (Process p : ps) {
      try (BufferedReader in =
          new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8))) {
        out.add(in.lines().collect(Collectors.toList()));
      }
      assertThat(p.waitFor(4, TimeUnit.MINUTES)).as("see target/group-children").isTrue();
    }
    return out;
  }

  /**
   * Rank 1's share of the newest step damaged on the backend: cut short (its size tells) or with
   * one byte changed (only its CRC32C tells). Every rank then falls back to the same earlier step,
   * its own share of it, and says which rank's share it skipped.
   */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aDamagedShardSendsEveryRankBackToTheSameStep(boolean truncated) throws Exception {
    URI root = backend().freshRoot("group");
    List<Coordinator> group = LoopbackGroup.open(WORLD);
    open.addAll(group);
    ExecutorService threads = Executors.newFixedThreadPool(WORLD);
    open.add(threads::shutdownNow);
    List<List<CheckpointEvent>> events = new ArrayList<>();
    for (int r = 0; r < WORLD; r++) {
      events.add(java.util.Collections.synchronizedList(new ArrayList<>()));
    }
    List<CheckpointStore> stores =
        everyRank(
            threads,
            r ->
                CheckpointStore.builder(backend().storage(root))
                    .coordinator(group.get(r))
                    .groupTimeout(Duration.ofMinutes(1))
                    .events(events.get(r)::add)
                    .open());
    open.addAll(stores);
    everyRank(threads, r -> stores.get(r).save(GroupSavingChild.share(10, r)));
    everyRank(threads, r -> stores.get(r).save(GroupSavingChild.share(20, r)));

    Storage storage = backend().storage(root);
    String shard = "step-20/rank-1/model.safetensors";
    rewrite(
        storage,
        shard,
        b -> {
          if (truncated) {
            return java.util.Arrays.copyOf(b, b.length - 100);
          }
          b[b.length - 1] ^= 0x10; // a weight's byte: the safetensors header still parses
          return b;
        });
    assertThat(CheckpointStore.verifyFolder(storage, "step-20", Verification.SIZES).ok())
        .as("the sizes tell")
        .isEqualTo(!truncated);

    List<LoadedCheckpoint> loaded =
        everyRank(threads, r -> stores.get(r).loadLatestValid().orElseThrow());
    open.addAll(loaded);
    for (int r = 0; r < WORLD; r++) {
      // Ranks 0 and 2 have intact shares of step 20, yet they resume step 10 with rank 1.
      RemoteCheckpointStoreContract.assertHolds(loaded.get(r), 10, r);
      assertThat(events.get(r))
          .as("rank %d says why", r)
          .anyMatch(
              e ->
                  e.type() == CheckpointEvent.Type.SKIPPED_INVALID
                      && e.step() == 20
                      && e.message().contains("rank 1:"));
    }
    assertThat(CheckpointStore.verifyFolder(storage, "step-20", Verification.CRC32C).ok())
        .isFalse();
  }

  /**
   * A rank lost while another still writes its share: rank 0 rolls the save back at once, and a
   * file the other finishes afterwards must never make a checkpoint. On HDFS nothing lands in the
   * deleted folder; on S3 the object lands in {@code step-20/rank-1/}, without a manifest and
   * without a claim: never listed, and removed at the next open (as the README says).
   */
  @Test
  void aShareFinishedAfterTheRollbackIsNeverListedAndGoesAtTheNextOpen() throws Exception {
    URI root = backend().freshRoot("group");
    List<Coordinator> group = LoopbackGroup.open(WORLD);
    open.addAll(group);
    ExecutorService threads = Executors.newFixedThreadPool(WORLD);
    open.add(threads::shutdownNow);
    List<FaultyStorage> storages = new ArrayList<>();
    for (int r = 0; r < WORLD; r++) {
      storages.add(new FaultyStorage(backend().storage(root)));
    }
    List<CheckpointStore> stores =
        everyRank(
            threads,
            r ->
                CheckpointStore.builder(storages.get(r))
                    .coordinator(group.get(r))
                    .groupTimeout(Duration.ofMinutes(1))
                    .events(e -> {})
                    .open());
    open.addAll(stores);
    everyRank(threads, r -> stores.get(r).save(GroupSavingChild.share(10, r)));

    CountDownLatch closing = new CountDownLatch(1);
    CountDownLatch rolledBack = new CountDownLatch(1);
    storages
        .get(1)
        .setHook(
            (i, op, name) -> {
              if (op == FaultyStorage.Op.OUTPUT_CLOSE && name.endsWith("/rank-1/state.json")) {
                closing.countDown();
                await(rolledBack);
              }
            });
    storages
        .get(2)
        .setHook(
            (i, op, name) -> {
              if (op == FaultyStorage.Op.OUTPUT_WRITE && name.contains("/rank-2/")) {
                await(closing);
                group.get(2).close(); // lost, while rank 1 is about to close its last file
                throw new IOException("rank 2 is gone");
              }
            });
    List<Future<SavedCheckpoint>> saves = new ArrayList<>();
    for (int r = 0; r < WORLD; r++) {
      int rank = r;
      saves.add(threads.submit(() -> stores.get(rank).save(GroupSavingChild.share(20, rank))));
    }
    assertThatThrownBy(() -> saves.get(0).get(1, TimeUnit.MINUTES))
        .as("rank 0 noticed at once")
        .hasMessageContaining("rank 2");
    rolledBack.countDown();
    for (Future<SavedCheckpoint> f : saves) {
      assertThatThrownBy(() -> f.get(1, TimeUnit.MINUTES)).isInstanceOf(ExecutionException.class);
    }

    Storage storage = backend().storage(root);
    assertOnlyWhole(storage, List.of("step-10"));
    if (storage.capabilities().atomicRename()) {
      assertThat(leftovers(storage, List.of("step-10"))).isEmpty();
    } else {
      assertThat(leftovers(storage, List.of("step-10"))).containsExactly("step-20");
      assertThat(storage.exists("step-20/rank-1/state.json")).isTrue();
    }
    List<CheckpointEvent> events = new ArrayList<>();
    CheckpointStore.builder(storage).events(events::add).open().close();
    assertThat(present(storage)).containsExactly("step-10");
    assertThat(events)
        .extracting(CheckpointEvent::type)
        .containsExactly(
            storage.capabilities().atomicRename()
                ? new CheckpointEvent.Type[0]
                : new CheckpointEvent.Type[] {CheckpointEvent.Type.REMOVED_LEFTOVER});
  }

  private static void await(CountDownLatch latch) throws IOException {
    try {
      if (!latch.await(1, TimeUnit.MINUTES)) {
        throw new IOException("the test's signal never came");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while held");
    }
  }

  private interface RankCall<T> {
    T call(int rank) throws Exception;
  }

  /** The call on every rank at once; the results by rank. */
  private static <T> List<T> everyRank(ExecutorService threads, RankCall<T> call) throws Exception {
    List<Future<T>> fs = new ArrayList<>();
    for (int r = 0; r < WORLD; r++) {
      int rank = r;
      fs.add(threads.submit(() -> call.call(rank)));
    }
    List<T> out = new ArrayList<>();
    for (Future<T> f : fs) {
      out.add(f.get(2, TimeUnit.MINUTES));
    }
    return out;
  }

  /** Replaces a file with other bytes, as a bad disk or a stray tool would leave it. */
  private static void rewrite(Storage storage, String name, UnaryOperator<byte[]> change)
      throws IOException {
    ByteBuffer b;
    try (Storage.Input in = storage.open(name)) {
      b = ByteBuffer.allocate(Math.toIntExact(in.size()));
      while (b.hasRemaining() && in.read(b, b.position()) > 0) {
        // read the whole file
      }
    }
    byte[] changed = change.apply(b.array());
    storage.delete(name);
    Storage.Output out = storage.create(name);
    out.write(ByteBuffer.wrap(changed));
    out.sync();
    out.close();
  }
}
