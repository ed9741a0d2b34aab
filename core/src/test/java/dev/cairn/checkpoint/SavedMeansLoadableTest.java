package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.safetensors.DType;
import dev.cairn.safetensors.SafetensorsFormat;
import dev.cairn.safetensors.Tensor;
import dev.cairn.safetensors.TensorData;
import dev.cairn.store.Storage;
import dev.cairn.testkit.CrashFileSystem;
import dev.cairn.testkit.FaultHook;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * "A save that returns can be loaded": whatever the builder and the store accept, load returns;
 * whatever they refuse, they refuse before a byte is written; and nothing the store does leaves it
 * without a loadable checkpoint.
 */
class SavedMeansLoadableTest {
  @TempDir Path dir;
  final List<CheckpointEvent> events = new ArrayList<>();

  CheckpointStore open(Path folder) throws IOException {
    return CheckpointStore.builder(folder).events(events::add).open();
  }

  private static String chars(int n) {
    return "x".repeat(n);
  }

  /** No step folder, no temporary folder: nothing of a refused save is on disk. */
  private static void assertOnlyStepsOnDisk(Path ck, String... steps) throws IOException {
    try (Stream<Path> s = Files.list(ck)) {
      assertThat(
              s.map(p -> p.getFileName().toString())
                  .filter(n -> !n.startsWith("."))
                  .filter(n -> !n.equals("pinned")))
          .containsExactlyInAnyOrder(steps);
    }
  }

  @Test
  void everyAllowedPartNameLengthSavesAndLoads() throws IOException {
    Path ck = dir.resolve("names");
    try (CheckpointStore store = open(ck)) {
      for (int len = 1; len <= 64; len++) {
        String name = "p" + "x".repeat(len - 1);
        String json = "j" + "x".repeat(len - 1);
        store.save(
            Checkpoint.at(len)
                .tensors(name, List.of(Tensor.of("w", new float[] {len}, 1)))
                .json(json, JsonNodeFactory.instance.objectNode().put("len", len))
                .build());
        try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
          assertThat(c.step()).as("name length " + len).isEqualTo(len);
          assertThat(c.tensors(name).floats("w")).containsExactly(len);
          assertThat(c.json(json).get("len").asInt()).isEqualTo(len);
        }
      }
    }
    assertThatThrownBy(
            () -> Checkpoint.at(1).json("p".repeat(65), JsonNodeFactory.instance.objectNode()))
        .hasMessageContaining("1 to 64");
  }

  @Test
  void manyMetricsAndOddValuesSaveAndLoad() throws IOException {
    Checkpoint.Builder b = Checkpoint.at(1);
    Map<String, Double> metrics = new java.util.TreeMap<>();
    Random r = new Random(5);
    for (int i = 0; i < 200; i++) {
      metrics.put("m" + Long.toHexString(r.nextLong()), r.nextGaussian());
    }
    metrics.put("nan", Double.NaN);
    metrics.put("inf", Double.POSITIVE_INFINITY);
    metrics.put("negative_zero", -0.0);
    b.metrics(metrics);
    b.metadata("decimal", JsonNodeFactory.instance.numberNode(new java.math.BigDecimal("1.10")));
    b.metadata("float", JsonNodeFactory.instance.numberNode(0.1f));
    b.metadata("long", JsonNodeFactory.instance.numberNode(5L));
    try (CheckpointStore store = open(dir.resolve("metrics"))) {
      store.save(b.build());
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.manifest().metrics()).isEqualTo(metrics);
        assertThat(c.manifest().metadata().get("decimal").asDouble()).isEqualTo(1.1);
        assertThat(c.manifest().metadata().get("long").asLong()).isEqualTo(5);
      }
    }
  }

  @Test
  void valuesPastJacksonsDefaultReadLimitsSaveAndLoad() throws IOException {
    Path ck = dir.resolve("sizes");
    String longValue = chars(20_000_001); // Jackson's default string limit is 20,000,000
    String longName = "t" + chars(50_000); // and 50,000 for a name
    BigInteger longNumber = BigInteger.TEN.pow(1_001); // and 1,000 digits for a number
    ObjectNode state = JsonNodeFactory.instance.objectNode();
    state.put("text", longValue).put("big", longNumber);
    try (CheckpointStore store = open(ck)) {
      store.save(
          Checkpoint.at(1)
              .metadata("note", longValue)
              .metadata("big", JsonNodeFactory.instance.numberNode(longNumber))
              .tensors(
                  "model",
                  List.of(Tensor.of(longName, new float[] {1, 2}, 2)),
                  Map.of("description", longValue))
              .json("state", state)
              .build());
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(1);
        assertThat(c.manifest().metadata().get("note").asText()).hasSize(20_000_001);
        assertThat(c.manifest().metadata().get("big").bigIntegerValue()).isEqualTo(longNumber);
        assertThat(c.tensors("model").floats(longName)).containsExactly(1, 2);
        assertThat(c.tensors("model").metadata().get("description")).hasSize(20_000_001);
        assertThat(c.json("state").get("text").asText()).hasSize(20_000_001);
        assertThat(c.json("state").get("big").bigIntegerValue()).isEqualTo(longNumber);
      }
    }
  }

  @Test
  void whatTheFormatForbidsIsRefusedBeforeAnythingIsWritten() throws IOException {
    Path ck = dir.resolve("limits");
    try (CheckpointStore store = open(ck)) {
      store.save(Fixtures.checkpoint(1, 100));
      // A safetensors header just under the format's 100 MB saves; just over it is refused.
      int room = (int) SafetensorsFormat.MAX_HEADER_BYTES - 200;
      store.save(
          Checkpoint.at(2)
              .tensors(
                  "model", List.of(Tensor.of("w", new float[] {1}, 1)), Map.of("m", chars(room)))
              .build());
      Throwable header =
          catchThrowable(
              () ->
                  store.save(
                      Checkpoint.at(3)
                          .tensors(
                              "model",
                              List.of(Tensor.of("w", new float[] {1}, 1)),
                              Map.of("m", chars((int) SafetensorsFormat.MAX_HEADER_BYTES)))
                          .build()));
      assertThat(header)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("part 'model'")
          .hasMessageContaining("100000000");
      // The manifest's own limit (user metadata lives there).
      Throwable manifest =
          catchThrowable(
              () ->
                  store.save(Checkpoint.at(3).metadata("huge", chars(Manifest.MAX_BYTES)).build()));
      assertThat(manifest)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("manifest")
          .hasMessageContaining(String.valueOf(Manifest.MAX_BYTES));
      assertOnlyStepsOnDisk(ck, "step-1", "step-2");
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(2);
      }
    }
  }

  @Test
  void everyDtypeSavesAndLoadsThroughTheStore() throws IOException {
    Random r = new Random(3);
    List<Tensor> tensors = new ArrayList<>();
    Map<String, byte[]> expected = new java.util.HashMap<>();
    for (DType d : DType.values()) {
      byte[] b = new byte[(int) d.bytesFor(16)];
      r.nextBytes(b);
      tensors.add(new Tensor("t_" + d, d, new long[] {4, 4}, TensorData.of(b)));
      expected.put("t_" + d, b);
    }
    try (CheckpointStore store = open(dir.resolve("dtypes"))) {
      store.save(Checkpoint.at(1).tensors("all", tensors).build());
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        for (DType d : DType.values()) {
          assertThat(c.tensors("all").info("t_" + d).dtype()).isEqualTo(d);
          assertThat(c.tensors("all").bytes("t_" + d)).isEqualTo(expected.get("t_" + d));
        }
        Map<String, ByteBuffer> read = new java.util.HashMap<>();
        c.readTensors(
            "all",
            t -> {
              ByteBuffer b = ByteBuffer.allocate((int) t.byteSize());
              read.put(t.name(), b);
              return b;
            });
        read.forEach((n, b) -> assertThat(b.array()).isEqualTo(expected.get(n)));
      }
    }
  }

  private static void flipDataByte(Path file) throws IOException {
    byte[] b = Files.readAllBytes(file);
    b[b.length - 5] ^= 0x01; // same size, so only a CRC32C pass sees it
    Files.write(file, b);
  }

  @Test
  void retentionNeverDeletesTheNewestLoadableCheckpoint() throws IOException {
    Path ck = dir.resolve("retention");
    RetentionPolicy keepOne = RetentionPolicy.builder().keepLast(1).build();
    try (CheckpointStore store = open(ck)) {
      store.save(Fixtures.checkpoint(1, 200));
      store.save(Fixtures.checkpoint(2, 200));
      store.save(Fixtures.checkpoint(3, 200));
      flipDataByte(ck.resolve("step-3/model.safetensors"));
      // Step 3 is the newest and kept, but it does not load: nothing older may go yet.
      assertThat(store.applyRetention(keepOne)).isEmpty();
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(2);
        Fixtures.assertIntact(c, 200);
      }
      // A newer good checkpoint, read back intact, lets the older ones go.
      store.save(Fixtures.checkpoint(4, 200));
      assertThat(store.applyRetention(keepOne)).containsExactly(1L, 2L, 3L);
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(4);
      }
    }
  }

  @Test
  void retentionKeepsOlderCheckpointsWhileTheNewestHasALostManifest() throws IOException {
    Path ck = dir.resolve("lost-manifest");
    try (CheckpointStore store = open(ck)) {
      store.save(Fixtures.checkpoint(1, 100));
      store.save(Fixtures.checkpoint(2, 100));
      Files.delete(ck.resolve("step-2/manifest.json"));
      assertThat(store.list())
          .extracting(CheckpointInfo::state)
          .containsExactly(CheckpointState.COMMITTED, CheckpointState.DAMAGED);
      assertThat(store.applyRetention(RetentionPolicy.builder().keepLast(1).build())).isEmpty();
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(1);
      }
    }
  }

  @Test
  void aDamagedStepCanBeSavedAgain() throws IOException {
    Path ck = dir.resolve("resave");
    try (CheckpointStore store = open(ck)) {
      store.save(Fixtures.checkpoint(5, 300));
      flipDataByte(ck.resolve("step-5/optimizer.safetensors"));
      events.clear();
      store.save(Fixtures.checkpoint(5, 300));
      try (LoadedCheckpoint c = store.load(5, Verification.FULL)) {
        Fixtures.assertIntact(c, 300);
      }
      assertThat(events)
          .extracting(CheckpointEvent::type)
          .contains(CheckpointEvent.Type.MOVED_ASIDE, CheckpointEvent.Type.SAVED);
      try (Stream<Path> s = Files.list(ck)) {
        Path aside =
            s.filter(p -> p.getFileName().toString().startsWith("step-5.damaged-"))
                .findFirst()
                .orElseThrow();
        assertThat(aside.resolve("optimizer.safetensors")).exists();
      }
      // An intact step is still never overwritten.
      assertThatThrownBy(() -> store.save(Fixtures.checkpoint(5, 300)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("intact");
    }
  }

  @Test
  void aPinRacingRetentionIsHonouredOrRefusedNeverLost() throws Exception {
    CrashFileSystem fs = CrashFileSystem.wrap(dir);
    Path ck = fs.root().resolve("race");
    try (CheckpointStore store = CheckpointStore.builder(ck).events(e -> {}).open()) {
      for (long step = 1; step <= 3; step++) {
        store.save(Fixtures.checkpoint(step, 64));
      }
      try (CheckpointStore dashboard = CheckpointStore.builder(ck).readOnly(true).open()) {
        Throwable[] pinFailure = {null};
        Thread[] pinner = {null};
        // Just as retention is about to delete step 1 (it has already checked for a pin), the
        // dashboard's Pin button is pressed for step 1 in another process.
        fs.setFaultHook(
            (index, op, path) -> {
              if (pinner[0] == null
                  && op == FaultHook.Op.RENAME
                  && path.getFileName().toString().equals("step-1")) {
                pinner[0] =
                    new Thread(
                        () -> {
                          try {
                            dashboard.pin(1);
                          } catch (IOException | RuntimeException e) {
                            pinFailure[0] = e;
                          }
                        });
                pinner[0].start();
                // Either the pin waits for retention's lock (the fix), or it is already writing its
                // pin file (blocked only on this test file system's monitor, which we hold).
                while (pinner[0].isAlive()
                    && pinner[0].getState() != Thread.State.WAITING
                    && pinner[0].getState() != Thread.State.BLOCKED) {
                  Thread.onSpinWait();
                }
              }
            });
        assertThat(store.applyRetention(RetentionPolicy.builder().keepLast(1).build()))
            .containsExactly(1L, 2L);
        pinner[0].join();
        assertThat(pinFailure[0])
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("no committed checkpoint for step 1");
        assertThat(dashboard.pinned()).doesNotContain(1L);
        assertThat(ck.resolve("pinned/step-1")).doesNotExist();
      }
    }
  }

  @Test
  void aPublishThatCannotBeMadeDurableIsWithdrawnAndTheStepCanBeSavedAgain() throws IOException {
    CrashFileSystem fs = CrashFileSystem.wrap(dir);
    Path ck = fs.root().resolve("publish");
    try (CheckpointStore store = CheckpointStore.builder(ck).events(events::add).open()) {
      store.save(Fixtures.checkpoint(1, 100));
      boolean[] renamed = {false};
      boolean[] failed = {false};
      fs.setFaultHook(
          (index, op, path) -> {
            if (op == FaultHook.Op.RENAME
                && path.getFileName().toString().startsWith("step-2.tmp")) {
              renamed[0] = true;
            } else if (renamed[0]
                && !failed[0]
                && op == FaultHook.Op.FSYNC_DIR
                && path.equals(ck)) {
              failed[0] = true;
              throw new IOException("Input/output error: " + path);
            }
          });
      Throwable t = catchThrowable(() -> store.save(Fixtures.checkpoint(2, 100)));
      assertThat(failed[0]).isTrue();
      assertThat(t).isInstanceOf(IOException.class).hasMessageContaining("withdrawn");
      assertThat(store.list()).extracting(CheckpointInfo::step).containsExactly(1L);
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(1);
      }
      store.save(Fixtures.checkpoint(2, 100));
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(2);
        Fixtures.assertIntact(c, 100);
      }
    }
  }

  @Test
  void aRestoreOverlappingRetentionReadsTheDataNotDamage() throws IOException {
    Path ck = dir.resolve("overlap");
    try (CheckpointStore store = open(ck)) {
      store.save(Fixtures.checkpoint(1, 5000));
      store.save(Fixtures.checkpoint(2, 5000));
      try (LoadedCheckpoint one = store.load(1, Verification.SIZES)) {
        store.save(Fixtures.checkpoint(3, 5000));
        assertThat(store.applyRetention(RetentionPolicy.builder().keepLast(1).build()))
            .containsExactly(1L, 2L);
        assertThat(ck.resolve("step-1")).doesNotExist();
        float[] w = new float[5000];
        ByteBuffer b = ByteBuffer.allocate(20000).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        one.readTensors("model", t -> t.name().equals("layer0.weight") ? b : null);
        b.flip().asFloatBuffer().get(w);
        assertThat(w).isEqualTo(Fixtures.weights(1, 5000));
      }
    }
  }

  @Test
  void aCheckpointDeletedWhileVerifiedIsReportedDeletedNotDamaged() throws IOException {
    Path ck = dir.resolve("verify-race");
    try (CheckpointStore store = open(ck)) {
      store.save(Fixtures.checkpoint(1, 100));
    }
    Path step = ck.resolve("step-1");
    Path gone = ck.resolve("step-1.deleting-0000aaaa");
    // Storage as seen by `cairn verify` while retention in another process removes the folder
    // right after the verifier read the manifest.
    Storage racing = new DeletingStorage(Storage.at(ck), "step-1", "step-1.deleting-0000aaaa");
    VerifyResult r = new CheckpointFolders(racing, ck).verify("step-1", Verification.FULL);
    assertThat(r.outcome()).isEqualTo(VerifyResult.Outcome.DELETED);
    assertThat(r.ok()).isFalse();
  }

  @ParameterizedTest(name = "marker strategy, {0}")
  @ValueSource(strings = {"in flight", "torn manifest"})
  void markerFoldersWithoutAGoodManifestAreNotDamageAndAreKept(String kind) throws IOException {
    Path ck = dir.resolve("marker");
    try (CheckpointStore store =
        CheckpointStore.builder(ck).storage(Storage.atWithoutAtomicRename(ck)).open()) {
      store.save(Fixtures.checkpoint(1, 100));
      store.save(Fixtures.checkpoint(2, 100));
    }
    Path two = ck.resolve("step-2");
    if (kind.equals("in flight")) {
      Files.delete(two.resolve("manifest.json"));
    } else {
      byte[] m = Files.readAllBytes(two.resolve("manifest.json"));
      Files.write(two.resolve("manifest.json"), java.util.Arrays.copyOf(m, m.length / 2));
    }
    try (CheckpointStore reader =
        CheckpointStore.builder(ck)
            .storage(Storage.atWithoutAtomicRename(ck))
            .readOnly(true)
            .events(events::add)
            .open()) {
      VerifyResult r = reader.verify(2, Verification.FULL);
      if (kind.equals("in flight")) {
        assertThat(r.outcome()).isEqualTo(VerifyResult.Outcome.NOT_COMMITTED);
        assertThat(reader.list()).extracting(CheckpointInfo::step).containsExactly(1L);
        try (LoadedCheckpoint c = reader.loadLatestValid().orElseThrow()) {
          assertThat(c.step()).isEqualTo(1);
        }
        assertThat(events)
            .extracting(CheckpointEvent::type)
            .doesNotContain(CheckpointEvent.Type.SKIPPED_INVALID);
      } else {
        assertThat(r.outcome()).isEqualTo(VerifyResult.Outcome.DAMAGED);
      }
    }
    try (CheckpointStore store =
        CheckpointStore.builder(ck)
            .storage(Storage.atWithoutAtomicRename(ck))
            .events(events::add)
            .open()) {
      store.save(Fixtures.checkpoint(2, 100));
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        assertThat(c.step()).isEqualTo(2);
        Fixtures.assertIntact(c, 100);
      }
    }
    try (Stream<Path> s = Files.list(ck)) {
      List<String> names = s.map(p -> p.getFileName().toString()).toList();
      if (kind.equals("torn manifest")) {
        assertThat(names)
            .as("a torn manifest is moved aside, not deleted")
            .anyMatch(n -> n.startsWith("step-2.damaged-"));
      }
    }
  }

  @Test
  void aCrashAnywhereInMarkerRetentionLeavesWholeCheckpointsOnly() throws IOException {
    Path template = dir.resolve("template");
    try (CheckpointStore store =
        CheckpointStore.builder(template.resolve("ck"))
            .storage(Storage.atWithoutAtomicRename(template.resolve("ck")))
            .open()) {
      for (long step = 1; step <= 3; step++) {
        store.save(Fixtures.checkpoint(step, 300));
      }
    }
    Files.delete(template.resolve("ck/.lock"));
    RetentionPolicy keepOne = RetentionPolicy.builder().keepLast(1).build();
    long ops;
    {
      Path real = dir.resolve("count");
      CrashRecoveryTest.copyTree(template, real);
      CrashFileSystem fs = CrashFileSystem.wrap(real);
      try (CheckpointStore store =
          CheckpointStore.builder(fs.root().resolve("ck"))
              .storage(Storage.atWithoutAtomicRename(fs.root().resolve("ck")))
              .open()) {
        long before = fs.operationCount();
        assertThat(store.applyRetention(keepOne)).containsExactly(1L, 2L);
        ops = fs.operationCount() - before;
      }
    }
    for (long point = 0; point < ops; point++) {
      Path real = dir.resolve("run" + point);
      CrashRecoveryTest.copyTree(template, real);
      CrashFileSystem fs = CrashFileSystem.wrap(real);
      try (CheckpointStore store =
          CheckpointStore.builder(fs.root().resolve("ck"))
              .storage(Storage.atWithoutAtomicRename(fs.root().resolve("ck")))
              .events(e -> {})
              .open()) {
        fs.setFaultHook(FaultHook.crashAt(fs.operationCount() + point));
        catchThrowable(() -> store.applyRetention(keepOne));
      }
      fs.crash(point);
      try (CheckpointStore store =
          CheckpointStore.builder(real.resolve("ck"))
              .storage(Storage.atWithoutAtomicRename(real.resolve("ck")))
              .events(events::add)
              .open()) {
        for (CheckpointInfo c : store.list()) {
          assertThat(c.state())
              .as("crash at op " + point + ": " + c.folder())
              .isEqualTo(CheckpointState.COMMITTED);
          assertThat(store.verify(c.step(), Verification.FULL).ok())
              .as("crash at op " + point + ": " + c.folder() + " is whole")
              .isTrue();
        }
        try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
          assertThat(c.step()).isEqualTo(3);
        }
      }
    }
  }
}
