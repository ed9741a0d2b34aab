package dev.cairn.hadoop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.events.EventType;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.DefaultCheckpointManager;
import dev.cairn.manager.TensorMap;
import dev.cairn.store.Storage;
import dev.cairn.testkit.FaultyStorage;
import dev.cairn.testkit.MutableClock;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/**
 * Network faults at every operation of a save on a remote backend (lost requests, lost answers,
 * hangs that end in a client timeout): the save fails with an IOException, nothing partial is
 * published, the store saves the same step again once the network is back; and a training loop with
 * background saves goes on through all of it.
 */
abstract class RemoteFaultContract {
  private static final long SEED = 3;

  /** Work folders failed saves left behind, with the first fault that left each. */
  private final java.util.Map<String, String> left = new java.util.LinkedHashMap<>();

  /** A fresh, empty checkpoint folder on the backend. */
  protected abstract Storage freshStorage() throws IOException;

  /** Every operation of one save of step 2 after step 1, as the double numbers them. */
  private List<String> operationsOfOneSave() throws IOException {
    FaultyStorage s = new FaultyStorage(freshStorage());
    List<String> ops = new ArrayList<>();
    try (CheckpointStore store = CheckpointStore.builder(s).events(e -> {}).open()) {
      store.save(RemoteCheckpointStoreContract.checkpoint(1, SEED));
      s.setHook((index, op, name) -> ops.add(op + " " + name));
      store.save(RemoteCheckpointStoreContract.checkpoint(2, SEED));
    }
    return ops;
  }

  @Test
  void aLostRequestOrALostAnswerAtAnyOperationFailsTheSaveCleanly() throws Exception {
    List<String> ops = operationsOfOneSave();
    assertThat(ops).hasSizeGreaterThan(10);
    int failed = faultEveryOperation(ops, FaultyStorage::failBefore, "lost request");
    int failedAfter = faultEveryOperation(ops, FaultyStorage::failAfter, "lost answer");
    System.out.printf(
        "%s: %d operations per save; a lost request failed %d saves, a lost answer %d%n",
        getClass().getSimpleName(), ops.size(), failed, failedAfter);
  }

  @Test
  void aHangAtAnyOperationHoldsOnlyThatSaveAndItsTimeoutFailsItCleanly() throws Exception {
    List<String> ops = operationsOfOneSave();
    FaultyStorage s = new FaultyStorage(freshStorage());
    try (CheckpointStore store = CheckpointStore.builder(s).events(e -> {}).open()) {
      store.save(RemoteCheckpointStoreContract.checkpoint(1, SEED));
      long step = 2;
      for (int i = 0; i < ops.size(); i++, step++) {
        FaultyStorage.Hang hang = new FaultyStorage.Hang();
        s.setHook(FaultyStorage.hangAt(s.operationCount() + i, hang));
        long saving = step;
        CompletableFuture<Object> save =
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return store.save(RemoteCheckpointStoreContract.checkpoint(saving, SEED));
                  } catch (IOException | RuntimeException e) {
                    return e;
                  }
                });
        assertThat(hang.awaitReached(Duration.ofMinutes(2)))
            .as("the save reaches operation %d (%s)", i, ops.get(i))
            .isTrue();
        assertThat(save).as("hung at %s", hang.where()).isNotDone();
        hang.timeOut();
        Object outcome = save.get(2, TimeUnit.MINUTES);
        s.setHook(FaultyStorage.Hook.NONE);
        step = checkAndRetry(store, s, step, outcome, "hang at " + i + " " + ops.get(i));
      }
    }
    leftoversGoOnRestart(s);
  }

  /** A restarted job's store removes the work folders failed saves could not delete. */
  private void leftoversGoOnRestart(Storage s) throws IOException {
    if (!left.isEmpty()) {
      System.out.printf(
          "%s: work folders left by failed saves until a restart: %s%n",
          getClass().getSimpleName(), left);
    }
    left.clear();
    // Restarted once the failed writer is known to be gone: its claims count as stale at once.
    try (CheckpointStore store =
        CheckpointStore.builder(s)
            .staleClaimAfter(java.time.Duration.ZERO)
            .events(e -> {})
            .open()) {
      assertThat(s.list("")).allMatch(n -> n.matches("step-[0-9]+"));
    }
  }

  /**
   * For each operation index a new save with a fault there, on one store that goes on saving (as a
   * training job does); returns how many saves failed.
   */
  private int faultEveryOperation(
      List<String> ops, LongFunction<FaultyStorage.Hook> fault, String what) throws IOException {
    FaultyStorage s = new FaultyStorage(freshStorage());
    int failed = 0;
    try (CheckpointStore store = CheckpointStore.builder(s).events(e -> {}).open()) {
      store.save(RemoteCheckpointStoreContract.checkpoint(1, SEED));
      long step = 2;
      for (int i = 0; i < ops.size(); i++, step++) {
        s.setHook(fault.apply(s.operationCount() + i));
        Object outcome;
        try {
          outcome = store.save(RemoteCheckpointStoreContract.checkpoint(step, SEED));
        } catch (IOException | RuntimeException e) {
          outcome = e;
          failed++;
        }
        s.setHook(FaultyStorage.Hook.NONE);
        step = checkAndRetry(store, s, step, outcome, what + " at " + i + " " + ops.get(i));
      }
    }
    leftoversGoOnRestart(s);
    return failed;
  }

  /**
   * A save that returned is durable; one that threw threw an IOException and left the previous
   * checkpoint the latest (or, past the commit point, its own, intact); nothing partial is listed
   * or left behind, and a failed step saves on retry. Returns the step now saved.
   */
  private long checkAndRetry(
      CheckpointStore store, Storage s, long step, Object outcome, String fault)
      throws IOException {
    long latest;
    try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
      latest = c.step();
      RemoteCheckpointStoreContract.assertHolds(c, latest, SEED);
    }
    if (outcome instanceof Throwable t) {
      assertThat(t).as(fault).isInstanceOf(IOException.class);
      assertThat(latest).as(fault + ": " + t).isBetween(step - 1, step);
    } else {
      assertThat(latest).as(fault + ": a save that returned is the latest").isEqualTo(step);
    }
    for (CheckpointInfo info : store.list()) {
      assertThat(info.committed()).as(fault + ": step " + info.step()).isTrue();
    }
    for (String n : s.list("")) {
      if (!n.matches("step-[0-9]+")) {
        // Only an unpublished work folder, or a claim a failed save could not give up, may stay
        // (see leftoversGoOnRestart).
        assertThat(n)
            .as(fault + ": what the failed save left")
            .matches("step-[0-9]+(\\.tmp-[0-9a-f]+)?(\\.claim)?");
        left.putIfAbsent(n, fault);
      }
    }
    if (latest < step) {
      store.save(RemoteCheckpointStoreContract.checkpoint(step, SEED));
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        RemoteCheckpointStoreContract.assertHolds(c, step, SEED);
      }
    }
    return step;
  }

  @Test
  void trainingGoesOnWhileABackgroundSaveHangsAndItsFailureBecomesAnEvent() {
    // Were the training thread to block on the hung save, the test would never end: the limit
    // turns that deadlock into a failure (all of the manager's calls run on this one thread).
    assertTimeoutPreemptively(
        Duration.ofMinutes(Long.getLong("cairn.train.minutes", 5)),
        this::trainThroughAHang,
        RemoteFaultContract::threads);
  }

  private void trainThroughAHang() throws Exception {
    FaultyStorage s = new FaultyStorage(freshStorage());
    List<String> events = new CopyOnWriteArrayList<>();
    CheckpointPolicy policy =
        CheckpointPolicy.builder()
            .every(Duration.ofMinutes(1))
            .saveOnShutdown(false, Duration.ZERO)
            .build();
    // A wall-time trigger, deferred while a save is in flight.
    MutableClock clock = new MutableClock(java.time.Instant.parse("2026-12-03T00:00:00Z"));
    float[] w = new float[1000];
    TensorMap model = new TensorMap("model").put("w", w);
    try (DefaultCheckpointManager m =
        new DefaultCheckpointManager(
            CheckpointStore.builder(s).events(e -> {}).open(),
            policy,
            (type, step, message, fields) ->
                events.add(
                    type.wireName()
                        + "@"
                        + step
                        + (fields != null && fields.has("after_failure") ? " after_failure" : "")),
            clock,
            1,
            null,
            Duration.ofMillis(10))) {
      assertThat(m.restoreLatest(model)).isZero();
      clock.advance(Duration.ofMinutes(1));
      assertThat(m.onStep(0)).isTrue();
      awaitEvent(events, EventType.CHECKPOINT_SAVED.wireName() + "@1");
      FaultyStorage.Hang hang = new FaultyStorage.Hang();
      s.setHook(FaultyStorage.hangAt(s.operationCount() + 8, hang));
      // The first save's event comes just before its task ends: until then a due save is
      // deferred, so step on until one starts.
      long hung = 1;
      while (true) {
        w[0] = hung;
        clock.advance(Duration.ofMinutes(1));
        if (m.onStep(hung)) {
          break;
        }
        hung++;
        LockSupport.parkNanos(1_000_000);
      }
      assertThat(hang.awaitReached(Duration.ofMinutes(2))).isTrue();
      // The training thread must not wait for the hung save: the loop runs while it hangs.
      for (long step = hung + 1; step < hung + 50; step++) {
        w[0] = step;
        clock.advance(Duration.ofMinutes(1));
        assertThat(m.onStep(step)).as("step %d while a save hangs", step).isFalse();
      }
      assertThat(events).noneMatch(e -> e.startsWith("checkpoint_failed"));
      hang.timeOut();
      awaitEvent(events, EventType.CHECKPOINT_FAILED.wireName() + "@" + (hung + 1));
      s.setHook(FaultyStorage.Hook.NONE);
      long step = hung + 50;
      while (events.stream().noneMatch(e -> e.endsWith(" after_failure"))) {
        w[0] = step;
        clock.advance(Duration.ofMinutes(1));
        m.onStep(step++);
        LockSupport.parkNanos(1_000_000);
      }
      m.saveFinal();
      long last = m.lastSaved().orElseThrow().step();
      try (LoadedCheckpoint c = m.store().loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(last);
        assertThat(c.tensors("model").floats("w")[0]).isEqualTo((float) (last - 1));
      }
      assertThat(m.store().list()).extracting(CheckpointInfo::step).doesNotContain(hung + 1);
      assertThat(m.lastFailure()).isEmpty();
    }
  }

  /** Where every thread is, for the failure message of a deadlock. */
  private static String threads() {
    StringBuilder b = new StringBuilder("the training loop blocked; threads:\n");
    Thread.getAllStackTraces()
        .forEach(
            (t, stack) -> {
              if (t.getName().startsWith("cairn") || t.getName().startsWith("junit")) {
                b.append(t.getName()).append('\n');
                for (StackTraceElement e : stack) {
                  b.append("    at ").append(e).append('\n');
                }
              }
            });
    return b.toString();
  }

  private static void awaitEvent(List<String> events, String event) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (!events.contains(event)) {
      assertThat(System.nanoTime()).as("waiting for %s in %s", event, events).isLessThan(deadline);
      Thread.sleep(5);
    }
  }
}
