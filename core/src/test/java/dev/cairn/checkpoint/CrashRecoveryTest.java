package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.store.Storage;
import dev.cairn.testkit.CrashFileSystem;
import dev.cairn.testkit.FaultHook;
import dev.cairn.testkit.SimulatedCrashException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Power cuts at every mutating operation of a save, with many random outcomes per point: the store
 * always reopens to the previous checkpoint or the new one, byte-exact, never anything else; and
 * once save() has returned, the new one always survives.
 */
class CrashRecoveryTest {
  static final int FLOATS = 3000;
  static final int OUTCOMES_PER_POINT = 8;

  @TempDir Path dir;
  long directThreshold = Long.MAX_VALUE;

  private static Storage storage(boolean atomicRename, Path folder) {
    return atomicRename ? Storage.at(folder) : Storage.atWithoutAtomicRename(folder);
  }

  private Path template(boolean atomicRename) throws IOException {
    Path t = dir.resolve("template");
    try (CheckpointStore store =
        CheckpointStore.builder(t.resolve("ck"))
            .storage(storage(atomicRename, t.resolve("ck")))
            .open()) {
      store.save(Fixtures.checkpoint(1, FLOATS));
    }
    Files.delete(t.resolve("ck/.lock"));
    return t;
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  /** Mutating operations of one save of step 2 after step 1, counted on a crash-free run. */
  private long opsPerSave(Path template, boolean atomicRename) throws IOException {
    Path real = dir.resolve("count");
    copyTree(template, real);
    CrashFileSystem fs = CrashFileSystem.wrap(real);
    try (CheckpointStore store =
        CheckpointStore.builder(fs.root().resolve("ck"))
            .storage(storage(atomicRename, fs.root().resolve("ck")))
            .directIoThreshold(directThreshold)
            .open()) {
      long before = fs.operationCount();
      store.save(Fixtures.checkpoint(2, FLOATS));
      return fs.operationCount() - before;
    }
  }

  @ParameterizedTest(name = "atomic rename: {0}, O_DIRECT: {1}")
  @CsvSource({"true,false", "false,false", "true,true"})
  void aCrashAnywhereInASaveLeavesThePreviousOrTheNewCheckpoint(
      boolean atomicRename, boolean direct) throws IOException {
    directThreshold = direct ? 0 : Long.MAX_VALUE;
    Path template = template(atomicRename);
    long ops = opsPerSave(template, atomicRename);
    assertThat(ops).isGreaterThan(10);
    int sawOld = 0;
    int sawNew = 0;
    int run = 0;
    // point == ops means the crash comes after save() returned.
    for (long point = 0; point <= ops; point++) {
      for (int outcome = 0; outcome < OUTCOMES_PER_POINT; outcome++) {
        Path real = dir.resolve("run" + run++);
        copyTree(template, real);
        CrashFileSystem fs = CrashFileSystem.wrap(real);
        boolean returned = false;
        try (CheckpointStore store =
            CheckpointStore.builder(fs.root().resolve("ck"))
                .storage(storage(atomicRename, fs.root().resolve("ck")))
                .directIoThreshold(directThreshold)
                .events(e -> {})
                .open()) {
          long base = fs.operationCount();
          fs.setFaultHook(FaultHook.crashAt(base + point));
          try {
            store.save(Fixtures.checkpoint(2, FLOATS));
            returned = true;
          } catch (IOException e) {
            // A crash while publishing reaches the caller wrapped in the withdrawal's message.
            Throwable crash = e instanceof SimulatedCrashException ? e : e.getCause();
            assertThat(crash).isInstanceOf(SimulatedCrashException.class);
          }
        }
        assertThat(returned)
            .as("save returns only when no crash came first")
            .isEqualTo(point >= ops);
        fs.crash(point * 1000 + outcome);

        List<CheckpointEvent> events = new ArrayList<>();
        try (CheckpointStore store =
                CheckpointStore.builder(real.resolve("ck"))
                    .storage(storage(atomicRename, real.resolve("ck")))
                    .events(events::add)
                    .open();
            LoadedCheckpoint latest = store.loadLatestValid().orElseThrow()) {
          String where = "crash at op " + point + ", outcome " + outcome;
          assertThat(latest.step()).as(where).isIn(1L, 2L);
          if (returned) {
            assertThat(latest.step()).as(where + ": a returned save is durable").isEqualTo(2L);
          }
          Fixtures.assertIntact(latest, FLOATS);
          if (latest.step() == 1) {
            sawOld++;
          } else {
            sawNew++;
          }
          try (Stream<Path> s = Files.list(real.resolve("ck"))) {
            assertThat(s.map(p -> p.getFileName().toString()))
                .as(where + ": leftovers are removed at open")
                .noneMatch(n -> n.contains(".tmp-") || n.contains(".deleting-"));
          }
          // The next save after recovery works.
          store.save(Fixtures.checkpoint(3, 10));
        }
      }
    }
    assertThat(sawOld).isGreaterThan(0);
    assertThat(sawNew).isGreaterThan(OUTCOMES_PER_POINT);
  }

  @ParameterizedTest(name = "atomic rename: {0}")
  @ValueSource(booleans = {true, false})
  void aCrashDuringRetentionNeverLosesTheNewestCheckpoint(boolean atomicRename) throws IOException {
    Path template = dir.resolve("ret-template");
    try (CheckpointStore store =
        CheckpointStore.builder(template.resolve("ck"))
            .storage(storage(atomicRename, template.resolve("ck")))
            .open()) {
      for (long s = 1; s <= 4; s++) {
        store.save(Fixtures.checkpoint(s, 200));
      }
    }
    Files.delete(template.resolve("ck/.lock"));
    RetentionPolicy keepOne = RetentionPolicy.builder().keepLast(1).build();
    for (long point = 0; point < 40; point++) {
      for (int outcome = 0; outcome < 4; outcome++) {
        Path real = dir.resolve("ret" + point + "-" + outcome);
        copyTree(template, real);
        CrashFileSystem fs = CrashFileSystem.wrap(real);
        try (CheckpointStore store =
            CheckpointStore.builder(fs.root().resolve("ck"))
                .storage(storage(atomicRename, fs.root().resolve("ck")))
                .events(e -> {})
                .open()) {
          fs.setFaultHook(FaultHook.crashAt(fs.operationCount() + point));
          store.applyRetention(keepOne);
        } catch (SimulatedCrashException expected) {
          // the crash point came before retention finished
        }
        fs.crash(point * 100 + outcome);
        try (CheckpointStore store =
            CheckpointStore.builder(real.resolve("ck"))
                .storage(storage(atomicRename, real.resolve("ck")))
                .events(e -> {})
                .open()) {
          for (CheckpointInfo c : store.list()) {
            try (LoadedCheckpoint l = store.load(c.step())) {
              Fixtures.assertIntact(l, 200);
            }
          }
          try (LoadedCheckpoint l = store.loadLatestValid().orElseThrow()) {
            assertThat(l.step()).isEqualTo(4);
          }
        }
      }
    }
  }
}
