package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.cairn.store.InsufficientSpaceException;
import dev.cairn.testkit.CrashFileSystem;
import dev.cairn.testkit.FaultHook;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Disk full and I/O errors at every mutating operation of a save: a typed error, no temporary
 * folder left behind (neither now nor after a restart), the earlier checkpoint intact.
 */
class FaultInjectionTest {
  static final int FLOATS = 2000;
  @TempDir Path dir;

  @ParameterizedTest(name = "{0}, O_DIRECT {1}")
  @CsvSource({
    "No space left on device,false",
    "Input/output error,false",
    "No space left on device,true",
    "Input/output error,true"
  })
  void aFailureAtAnyStepOfASaveDamagesNothing(String error, boolean direct) throws IOException {
    long threshold = direct ? 0 : Long.MAX_VALUE;
    Path template = dir.resolve("template");
    try (CheckpointStore store = CheckpointStore.open(template.resolve("ck"))) {
      store.save(Fixtures.checkpoint(1, FLOATS));
    }
    Files.delete(template.resolve("ck/.lock"));
    long ops;
    {
      Path real = dir.resolve("count");
      CrashRecoveryTest.copyTree(template, real);
      CrashFileSystem fs = CrashFileSystem.wrap(real);
      try (CheckpointStore store =
          CheckpointStore.builder(fs.root().resolve("ck")).directIoThreshold(threshold).open()) {
        long before = fs.operationCount();
        store.save(Fixtures.checkpoint(2, FLOATS));
        ops = fs.operationCount() - before;
      }
    }
    for (long point = 0; point < ops; point++) {
      Path real = dir.resolve("run" + point);
      CrashRecoveryTest.copyTree(template, real);
      CrashFileSystem fs = CrashFileSystem.wrap(real);
      String where = error + " at op " + point;
      try (CheckpointStore store =
          CheckpointStore.builder(fs.root().resolve("ck"))
              .directIoThreshold(threshold)
              .events(e -> {})
              .open()) {
        fs.setFaultHook(FaultHook.failAt(fs.operationCount() + point, error));
        Throwable t = catchThrowable(() -> store.save(Fixtures.checkpoint(2, FLOATS)));
        if (t == null) {
          // The fault hit the O_DIRECT probe, not the save: it fell back to buffered writes.
          try (LoadedCheckpoint two = store.load(2)) {
            Fixtures.assertIntact(two, FLOATS);
          }
        } else {
          assertThat(t).as(where).isInstanceOf(IOException.class);
          if (error.startsWith("No space")) {
            assertThat(t).as(where).isInstanceOf(InsufficientSpaceException.class);
          }
        }
        assertNoTemporaryFolders(real, where);
        try (LoadedCheckpoint one = store.load(1)) {
          Fixtures.assertIntact(one, FLOATS);
        }
        // The store stays usable after the failure.
        store.save(Fixtures.checkpoint(3, FLOATS));
      }
      try (CheckpointStore store =
          CheckpointStore.builder(real.resolve("ck")).events(e -> {}).open()) {
        assertNoTemporaryFolders(real, where);
        for (CheckpointInfo c : store.list()) {
          try (LoadedCheckpoint l = store.load(c.step())) {
            Fixtures.assertIntact(l, FLOATS);
          }
        }
        assertThat(store.list()).extracting(CheckpointInfo::step).contains(1L, 3L);
      }
    }
  }

  private static void assertNoTemporaryFolders(Path real, String where) throws IOException {
    try (Stream<Path> s = Files.list(real.resolve("ck"))) {
      assertThat(s.map(p -> p.getFileName().toString()))
          .as(where)
          .noneMatch(n -> n.contains(".tmp-"));
    }
  }
}
