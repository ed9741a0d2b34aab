package dev.cairn.manager;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.RetentionPolicy;
import dev.cairn.control.ControlFolder;
import dev.cairn.control.SaveRequest;
import dev.cairn.events.Events;
import dev.cairn.store.Storage;
import dev.cairn.testkit.CrashFileSystem;
import dev.cairn.testkit.FaultHook;
import dev.cairn.testkit.FaultyStorage;
import dev.cairn.testkit.MutableClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointManagerTest {
  @TempDir Path dir;
  final MutableClock clock = new MutableClock(Instant.parse("2026-11-26T00:00:00Z"));
  final List<String> events = new CopyOnWriteArrayList<>();
  final List<com.fasterxml.jackson.databind.node.ObjectNode> eventFields =
      new CopyOnWriteArrayList<>();
  final Events sink =
      (type, step, message, fields) -> {
        events.add(type.wireName() + "@" + step + " " + message);
        com.fasterxml.jackson.databind.node.ObjectNode o =
            fields == null
                ? com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()
                : fields.deepCopy();
        o.put("type", type.wireName());
        eventFields.add(o);
      };

  DefaultCheckpointManager manager(CheckpointPolicy policy, Path folder, ControlFolder control)
      throws IOException {
    CheckpointStore store = CheckpointStore.builder(folder).clock(clock).open();
    return new DefaultCheckpointManager(
        store, policy, sink, clock, 1, control, Duration.ofMillis(10));
  }

  static CheckpointPolicy.Builder sync() {
    return CheckpointPolicy.builder().every(null).async(false).saveOnShutdown(false, Duration.ZERO);
  }

  static List<Long> steps(CheckpointStore store) throws IOException {
    List<Long> out = new ArrayList<>();
    for (CheckpointInfo c : store.list()) {
      out.add(c.step());
    }
    return out;
  }

  @Test
  void everyNStepsSavesExactlyThoseSteps() throws IOException {
    // Synchronous, so every save ends before the next is due (asynchronous saves that fall behind
    // are deferred, see aSaveInFlightNeverBlocksTheTrainingThread).
    TensorMap model = new TensorMap("model").put("w", new float[100]);
    try (DefaultCheckpointManager m =
        manager(sync().everySteps(5).build(), dir.resolve("ck"), null)) {
      assertThat(m.restoreLatest(model)).isZero();
      for (long s = 0; s < 23; s++) {
        model.get("w")[0] = s;
        m.onStep(s, Map.of("loss", 1.0));
      }
      m.saveFinal();
      assertThat(steps(m.store())).containsExactly(5L, 10L, 15L, 20L, 23L);
      try (LoadedCheckpoint c = m.store().load(15)) {
        assertThat(c.tensors("model").floats("w")[0])
            .as("state after step index 14")
            .isEqualTo(14f);
      }
    }
  }

  @Test
  void theFirstSaveCopiesIntoStagingBuffersAllocatedAtRegistration() throws IOException {
    TensorMap model = new TensorMap("model").put("w", new float[1 << 16]).put("b", new float[8]);
    try (DefaultCheckpointManager m =
        manager(
            CheckpointPolicy.builder()
                .every(null)
                .everySteps(3)
                .saveOnShutdown(false, Duration.ZERO)
                .build(),
            dir.resolve("ck"),
            null)) {
      m.restoreLatest(model);
      for (long s = 0; s < 3; s++) {
        model.get("w")[7] = s;
        m.onStep(s, Map.of("loss", 1.0));
      }
      m.saveFinal();
      assertThat(m.firstArea().snapshotAllocations())
          .as("buffers the first snapshot had to allocate on the training thread")
          .isZero();
      try (LoadedCheckpoint c = m.store().load(3)) {
        assertThat(c.tensors("model").floats("w")[7]).isEqualTo(2f);
      }
    }
  }

  @Test
  void aSaveRightAfterTheSavedEventReusesTheStagingArea() throws Exception {
    // The writer announces a save, then runs the retention pass; this store holds that pass until
    // the next save is submitted, so the next step falls in the gap every time, not by chance.
    CountDownLatch saved = new CountDownLatch(1);
    CountDownLatch retentionMayRun = new CountDownLatch(1);
    CheckpointStore real = CheckpointStore.builder(dir.resolve("ck")).clock(clock).open();
    CheckpointStore store =
        (CheckpointStore)
            java.lang.reflect.Proxy.newProxyInstance(
                CheckpointStore.class.getClassLoader(),
                new Class<?>[] {CheckpointStore.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("applyRetention")) {
                    retentionMayRun.await();
                  }
                  try {
                    return method.invoke(real, args);
                  } catch (java.lang.reflect.InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
    Events signal =
        (type, step, message, fields) -> {
          sink.emit(type, step, message, fields);
          if (type == dev.cairn.events.EventType.CHECKPOINT_SAVED && step == 1) {
            saved.countDown();
          }
        };
    TensorMap model = new TensorMap("model").put("w", new float[1 << 12]);
    try (DefaultCheckpointManager m =
        new DefaultCheckpointManager(
            store,
            CheckpointPolicy.builder()
                .every(null)
                .everySteps(1)
                .saveOnShutdown(false, Duration.ZERO)
                .build(),
            signal,
            clock,
            1,
            null,
            Duration.ofMillis(10))) {
      // Released before close() on every path: close waits for the writer, held by the latch.
      try {
        m.restoreLatest(model);
        model.get("w")[0] = 1;
        m.onStep(0, Map.of());
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> saved.await());
        model.get("w")[0] = 2;
        assertThat(m.onStep(1, Map.of()))
            .as("the save of step 2, requested while step 1's retention pass is held")
            .isTrue();
        assertThat(m.stagingAreas())
            .as("staging areas: the first is free once step 1's bytes are written")
            .isEqualTo(1);
        assertThat(m.firstArea().snapshotAllocations()).isZero();
        retentionMayRun.countDown();
        m.saveFinal();
        assertThat(steps(m.store())).containsExactly(1L, 2L);
        try (LoadedCheckpoint c = m.store().load(1)) {
          assertThat(c.tensors("model").floats("w")[0]).isEqualTo(1f);
        }
        try (LoadedCheckpoint c = m.store().load(2)) {
          assertThat(c.tensors("model").floats("w")[0]).isEqualTo(2f);
        }
      } finally {
        retentionMayRun.countDown();
      }
    }
  }

  @Test
  void aComponentThatCannotBeMeasuredAtRegistrationIsStillSaved() throws IOException {
    TensorMap model = new TensorMap("model").put("w", new float[16]);
    boolean[] ready = {false};
    Checkpointable late =
        new Checkpointable() {
          @Override
          public String name() {
            return "late";
          }

          @Override
          public void snapshot(Snapshot out) {
            if (!ready[0]) {
              throw new IllegalStateException("not initialised yet");
            }
            out.tensor("x", new float[] {4f}, 1);
          }

          @Override
          public void restore(Restored in) {}
        };
    try (DefaultCheckpointManager m =
        manager(sync().everySteps(1).build(), dir.resolve("ck"), null)) {
      m.restoreLatest(model, late);
      ready[0] = true;
      m.onStep(0, Map.of());
      try (LoadedCheckpoint c = m.store().load(1)) {
        assertThat(c.tensors("late").floats("x")).containsExactly(4f);
      }
    }
  }

  @Test
  void aSaveInFlightNeverBlocksTheTrainingThread() {
    assertTimeoutPreemptively(Duration.ofMinutes(2), this::trainWhileASaveHangs);
  }

  @Test
  void aBestSaveTheStorageCannotTakeNowIsDroppedNotMislabelled() {
    assertTimeoutPreemptively(Duration.ofMinutes(2), this::bestWhileASaveHangs);
  }

  private void bestWhileASaveHangs() throws Exception {
    Files.createDirectories(dir.resolve("ck"));
    FaultyStorage storage = new FaultyStorage(Storage.at(dir.resolve("ck")));
    float[] w = new float[100];
    TensorMap model = new TensorMap("model").put("w", w);
    try (DefaultCheckpointManager m =
        new DefaultCheckpointManager(
            CheckpointStore.builder(storage).clock(clock).events(e -> {}).open(),
            CheckpointPolicy.builder()
                .every(null)
                .onBest("loss", RetentionPolicy.Goal.MIN)
                .saveOnShutdown(false, Duration.ZERO)
                .build(),
            sink,
            clock,
            1,
            null,
            Duration.ofMillis(10))) {
      m.restoreLatest(model);
      FaultyStorage.Hang hang = new FaultyStorage.Hang();
      storage.setHook(FaultyStorage.hangAt(storage.operationCount() + 3, hang));
      double[] losses = {1.0, 0.9, 0.8, 0.85};
      boolean[] saves = {true, true, false, false};
      for (int s = 0; s < losses.length; s++) {
        w[0] = s;
        assertThat(m.onStep(s, Map.of("loss", losses[s]))).as("step %d", s).isEqualTo(saves[s]);
        if (s == 0) {
          assertThat(hang.awaitReached(Duration.ofMinutes(1))).isTrue();
        }
      }
      assertThat(eventFields)
          .filteredOn(f -> f.get("type").asText().equals("checkpoint_deferred"))
          .hasSize(2)
          .allSatisfy(f -> assertThat(f.get("dropped").toString()).isEqualTo("[\"best\"]"));
      hang.proceed();
      // 0.95 does not beat the saved best (0.9): the dropped 0.8 was not saved, so it is not the
      // bar either; then a falling loss saves at the first step the writer is free.
      long s = 4;
      w[0] = s;
      assertThat(m.onStep(s, Map.of("loss", 0.95))).isFalse();
      double loss = 0.7;
      do {
        w[0] = ++s;
        loss -= 0.001;
        LockSupport.parkNanos(1_000_000);
      } while (!m.onStep(s, Map.of("loss", loss)));
      m.close();
      long last = s + 1;
      assertThat(steps(m.store())).containsExactly(1L, 2L, last);
      try (LoadedCheckpoint c = m.store().load(last)) {
        assertThat(c.tensors("model").floats("w")[0]).isEqualTo((float) s);
      }
    }
  }

  private void trainWhileASaveHangs() throws Exception {
    Files.createDirectories(dir.resolve("ck"));
    FaultyStorage storage = new FaultyStorage(Storage.at(dir.resolve("ck")));
    float[] w = new float[1000];
    TensorMap model = new TensorMap("model").put("w", w);
    try (DefaultCheckpointManager m =
        new DefaultCheckpointManager(
            CheckpointStore.builder(storage).clock(clock).events(e -> {}).open(),
            CheckpointPolicy.builder()
                .everySteps(5)
                .every(null)
                .saveOnShutdown(false, Duration.ZERO)
                .build(),
            sink,
            clock,
            1,
            null,
            Duration.ofMillis(10))) {
      assertThat(m.restoreLatest(model)).isZero();
      FaultyStorage.Hang hang = new FaultyStorage.Hang();
      storage.setHook(FaultyStorage.hangAt(storage.operationCount() + 3, hang));
      for (long s = 0; s < 5; s++) {
        w[0] = s;
        assertThat(m.onStep(s)).isEqualTo(s == 4);
      }
      assertThat(hang.awaitReached(Duration.ofMinutes(1))).isTrue();
      // The save of step-5 hangs in the storage; training goes on. step-10 names its step: it is
      // copied into the second staging area and queued behind the hung save, without waiting.
      for (long s = 5; s < 10; s++) {
        w[0] = s;
        assertThat(m.onStep(s)).as("step %d while the save of step-5 hangs", s).isEqualTo(s == 9);
      }
      // Both areas busy: step-15 is deferred, and so is a request; reported once for this save.
      for (long s = 10; s < 17; s++) {
        w[0] = s;
        assertThat(m.onStep(s)).as("step %d while two saves are queued", s).isFalse();
      }
      String id = m.requestSave((String) null);
      w[0] = 17;
      assertThat(m.onStep(17)).isFalse();
      assertThat(events).filteredOn(e -> e.startsWith("checkpoint_deferred")).hasSize(1);
      assertThat(eventFields)
          .filteredOn(f -> f.get("type").asText().equals("checkpoint_deferred"))
          .singleElement()
          .satisfies(
              f -> {
                assertThat(f.get("in_flight_step").asLong())
                    .as("the one being written")
                    .isEqualTo(5);
                assertThat(f.get("queued_step").asLong()).isEqualTo(10);
                assertThat(f.get("reasons").toString()).isEqualTo("[\"steps\"]");
              });
      hang.proceed();
      long s = 18;
      w[0] = s;
      while (!m.onStep(s)) { // the deferred saves fire at the first step after both queued end
        LockSupport.parkNanos(1_000_000);
        w[0] = ++s;
      }
      m.saveFinal();
      long last = s + 1;
      List<Long> saved = steps(m.store());
      assertThat(saved).containsExactly(5L, 10L, last);
      for (long step : saved) {
        try (LoadedCheckpoint c = m.store().load(step)) {
          assertThat(c.tensors("model").floats("w")[0])
              .as("state of step-%d: the second snapshot did not overwrite the first", step)
              .isEqualTo(step - 1f);
        }
      }
      assertThat(eventFields)
          .anyMatch(
              f ->
                  f.get("type").asText().equals("save_request_done")
                      && f.get("request_id").asText().equals(id));
      assertThat(events).anyMatch(e -> e.startsWith("save_request_done@" + last + " "));
    }
  }

  @Test
  void wallTimeTriggerFollowsTheInjectedClock() throws IOException {
    TensorMap model = new TensorMap("model").put("w", new float[10]);
    try (DefaultCheckpointManager m =
        manager(sync().every(Duration.ofMinutes(5)).build(), dir.resolve("ck"), null)) {
      m.restoreLatest(model);
      for (long s = 0; s < 16; s++) {
        clock.advance(Duration.ofMinutes(1));
        m.onStep(s);
      }
      assertThat(steps(m.store())).containsExactly(5L, 10L, 15L);
    }
  }

  @Test
  void bestMetricSavesOnEveryImprovementAndTriggersOnOneStepMakeOneSave() throws IOException {
    TensorMap model = new TensorMap("model").put("w", new float[10]);
    double[] val = {3, 2, 2.5, 1, 1, 0.5};
    try (DefaultCheckpointManager m =
        manager(
            sync().everySteps(4).onBest("val_loss", RetentionPolicy.Goal.MIN).build(),
            dir.resolve("ck"),
            null)) {
      m.restoreLatest(model);
      for (int s = 0; s < val.length; s++) {
        m.onStep(s, Map.of("val_loss", val[s]));
      }
      assertThat(steps(m.store())).containsExactly(1L, 2L, 4L, 6L);
      long savedEvents = events.stream().filter(e -> e.startsWith("checkpoint_saved@4")).count();
      assertThat(savedEvents).as("steps and best on step 4 make one save").isEqualTo(1);
    }
  }

  @Test
  void aTimeTriggerDuringASaveIsCoalescedWithoutBlocking() throws Exception {
    CrashFileSystem fs = CrashFileSystem.wrap(dir.resolve("fs"));
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch blocked = new CountDownLatch(1);
    TensorMap model = new TensorMap("model").put("w", new float[10]);
    try (DefaultCheckpointManager m =
        manager(
            CheckpointPolicy.builder()
                .every(Duration.ofMinutes(1))
                .saveOnShutdown(false, Duration.ZERO)
                .build(),
            fs.root().resolve("ck"),
            null)) {
      m.restoreLatest(model);
      fs.setFaultHook(
          (i, op, p) -> {
            if (op == FaultHook.Op.FSYNC_DIR && blocked.getCount() > 0) {
              blocked.countDown();
              try {
                release.await(30, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          });
      clock.advance(Duration.ofMinutes(1));
      assertThat(m.onStep(0)).isTrue();
      assertThat(blocked.await(30, TimeUnit.SECONDS)).isTrue();
      clock.advance(Duration.ofMinutes(1));
      long t0 = System.nanoTime();
      assertThat(m.onStep(1)).as("in flight: deferred, not blocking").isFalse();
      assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(5));
      release.countDown();
      long step = 2;
      while (m.lastSaved().isEmpty() || m.lastSaved().get().step() < 2) {
        m.onStep(step++);
        LockSupport.parkNanos(1_000_000);
        assertThat(step).isLessThan(100_000);
      }
      m.saveFinal();
      List<Long> saved = steps(m.store());
      assertThat(saved.get(0)).isEqualTo(1L);
      assertThat(saved.get(1))
          .as("the deferred trigger fired at the first free step")
          .isGreaterThan(2L);
    }
  }

  @Test
  void aFailedBackgroundSaveBecomesAnEventAndTheNextSaveMentionsIt() throws IOException {
    CrashFileSystem fs = CrashFileSystem.wrap(dir.resolve("fs"));
    TensorMap model = new TensorMap("model").put("w", new float[1000]);
    try (DefaultCheckpointManager m =
        manager(
            CheckpointPolicy.builder().everySteps(1).every(null).build(),
            fs.root().resolve("ck"),
            null)) {
      m.restoreLatest(model);
      fs.setFaultHook(FaultHook.failAt(fs.operationCount() + 3, "Input/output error"));
      m.onStep(0);
      m.onStep(1);
      m.saveFinal();
      assertThat(events).anyMatch(e -> e.startsWith("checkpoint_failed@1"));
      assertThat(eventFields)
          .anyMatch(
              f ->
                  f.path("type").asText().equals("checkpoint_saved")
                      && f.path("after_failure").asText().contains("Input/output error"));
      assertThat(steps(m.store())).containsExactly(2L);
    }
  }

  @Test
  void aControlRequestSavesANamedPinnedCheckpointAndIsAnswered() throws IOException {
    ControlFolder control = new ControlFolder(dir.resolve("control"));
    TensorMap model = new TensorMap("model").put("w", new float[10]);
    try (DefaultCheckpointManager m =
        manager(CheckpointPolicy.builder().every(null).build(), dir.resolve("ck"), control)) {
      m.restoreLatest(model);
      SaveRequest r = control.requestSave("before-lr-drop");
      long step = 0;
      while (eventFields.stream()
          .noneMatch(f -> f.path("type").asText().equals("save_request_done"))) {
        m.onStep(step++);
        LockSupport.parkNanos(2_000_000);
        assertThat(step).as("request answered").isLessThan(1_000_000);
      }
      var done =
          eventFields.stream()
              .filter(f -> f.path("type").asText().equals("save_request_done"))
              .findFirst()
              .orElseThrow();
      assertThat(done.path("request_id").asText()).isEqualTo(r.id());
      CheckpointInfo info = m.store().list().get(0);
      assertThat(info.manifest().name()).isEqualTo("before-lr-drop");
      assertThat(info.pinned()).isTrue();
      assertThat(control.pending()).isEmpty();
      assertThat(dir.resolve("control/done"))
          .isDirectoryContaining("glob:**save-" + r.id() + ".json");
    }
  }

  @Test
  void anApiRequestFromAnotherThreadSavesAtTheNextStep() throws Exception {
    TensorMap model = new TensorMap("model").put("w", new float[10]);
    try (DefaultCheckpointManager m = manager(sync().build(), dir.resolve("ck"), null)) {
      m.restoreLatest(model);
      m.onStep(0);
      String id =
          java.util.concurrent.CompletableFuture.supplyAsync(() -> m.requestSave("mid")).get();
      assertThat(m.onStep(1)).isTrue();
      assertThat(m.store().list().get(0).manifest().name()).isEqualTo("mid");
      assertThat(eventFields)
          .anyMatch(
              f ->
                  f.path("type").asText().equals("save_request_done")
                      && f.path("request_id").asText().equals(id));
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.requestSave("a/b"))
          .hasMessageContaining("checkpoint name 'a/b' is not allowed");
    }
  }

  @Test
  void restoreBringsBackEveryComponentAndRefusesAMissingOne() throws IOException {
    TensorMap model = new TensorMap("model").put("w", new float[] {1, 2, 3});
    DataCursor data = new DataCursor("data");
    RngState rng =
        RngState.create("rng", org.apache.commons.rng.simple.RandomSource.XO_RO_SHI_RO_128_PP, 9);
    try (DefaultCheckpointManager m = manager(sync().build(), dir.resolve("ck"), null)) {
      m.restoreLatest(model, data, rng);
      data.advance(70, 64);
      rng.rng().nextLong();
      m.onStep(6);
      m.saveNow("manual");
    }
    var fresh =
        RngState.create("x", org.apache.commons.rng.simple.RandomSource.XO_RO_SHI_RO_128_PP, 9)
            .rng();
    fresh.nextLong();
    long expectedNext = fresh.nextLong();
    TensorMap model2 = new TensorMap("model").put("w", new float[3]);
    DataCursor data2 = new DataCursor("data");
    RngState rng2 =
        RngState.create("rng", org.apache.commons.rng.simple.RandomSource.XO_RO_SHI_RO_128_PP, 1);
    try (DefaultCheckpointManager m = manager(sync().build(), dir.resolve("ck"), null)) {
      assertThat(m.restoreLatest(model2, data2, rng2)).isEqualTo(7);
      assertThat(model2.get("w")).containsExactly(1, 2, 3);
      assertThat(data2.epoch()).isEqualTo(1);
      assertThat(data2.position()).isEqualTo(6);
      assertThat(rng2.rng().nextLong())
          .as("the RNG continues where it was")
          .isEqualTo(expectedNext);
      assertThat(events).anyMatch(e -> e.startsWith("resumed@7"));
    }
    try (DefaultCheckpointManager m = manager(sync().build(), dir.resolve("ck"), null)) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () ->
                  m.restoreLatest(
                      new TensorMap("model").put("w", new float[3]), new DataCursor("other")))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("no state for component 'other'");
    }
  }

  @Test
  void aLossJumpAfterResumeIsReported() throws IOException {
    TensorMap model = new TensorMap("model").put("w", new float[3]);
    try (DefaultCheckpointManager m =
        manager(sync().everySteps(60).build(), dir.resolve("ck"), null)) {
      m.restoreLatest(model);
      for (int s = 0; s < 60; s++) {
        m.onStep(s, Map.of("loss", 1.0 + (s % 2) * 0.01));
      }
    }
    try (DefaultCheckpointManager m = manager(sync().build(), dir.resolve("ck"), null)) {
      m.restoreLatest(new TensorMap("model").put("w", new float[3]));
      for (int s = 60; s < 90; s++) {
        m.onStep(s, Map.of("loss", 1.02));
      }
      assertThat(events).noneMatch(e -> e.startsWith("loss_jump"));
    }
    try (DefaultCheckpointManager m = manager(sync().build(), dir.resolve("ck"), null)) {
      m.restoreLatest(new TensorMap("model").put("w", new float[3]));
      for (int s = 60; s < 90; s++) {
        m.onStep(s, Map.of("loss", 4.0));
      }
      assertThat(events).anyMatch(e -> e.startsWith("loss_jump@80"));
    }
  }

  @Test
  void retentionRunsAfterEachSave() throws IOException {
    TensorMap model = new TensorMap("model").put("w", new float[3]);
    try (DefaultCheckpointManager m =
        manager(
            sync().everySteps(1).retention(RetentionPolicy.builder().keepLast(2).build()).build(),
            dir.resolve("ck"),
            null)) {
      m.restoreLatest(model);
      for (int s = 0; s < 6; s++) {
        m.onStep(s);
      }
      assertThat(steps(m.store())).containsExactly(5L, 6L);
    }
  }

  /**
   * Power cuts during asynchronous saves (crash-simulating file system): after recovery the manager
   * resumes from a checkpoint at least as new as the last one reported durable, with exactly the
   * state that was snapshotted then, and never from a partial one.
   */
  @Test
  void crashesDuringAsyncSavesLoseNothingCommitted() throws IOException {
    for (int trial = 0; trial < 40; trial++) {
      Path real = dir.resolve("trial" + trial);
      CrashFileSystem fs = CrashFileSystem.wrap(real);
      float[] w = new float[5000];
      TensorMap model = new TensorMap("model").put("w", w);
      long durable = 0;
      DefaultCheckpointManager m =
          manager(
              CheckpointPolicy.builder()
                  .everySteps(3)
                  .every(null)
                  .saveOnShutdown(false, Duration.ZERO)
                  .build(),
              fs.root().resolve("ck"),
              null);
      m.restoreLatest(model);
      fs.setFaultHook(FaultHook.crashAt(fs.operationCount() + 10 + trial * 7));
      for (int s = 0; s < 40; s++) {
        java.util.Arrays.fill(w, s + 1);
        m.onStep(s);
        if (m.lastSaved().isPresent()) {
          durable = m.lastSaved().get().step();
        }
      }
      try {
        m.close();
      } catch (IOException expected) {
        // the file system is "dead"
      }
      fs.crash(trial);
      float[] back = new float[5000];
      try (DefaultCheckpointManager again = manager(sync().build(), real.resolve("ck"), null)) {
        long resumed = again.restoreLatest(new TensorMap("model").put("w", back));
        assertThat(resumed).as("trial " + trial).isGreaterThanOrEqualTo(durable);
        if (resumed > 0) {
          float[] expected = new float[5000];
          java.util.Arrays.fill(expected, resumed);
          assertThat(back).as("trial " + trial).isEqualTo(expected);
        }
      }
      assertThat(Files.exists(real)).isTrue();
    }
  }
}
