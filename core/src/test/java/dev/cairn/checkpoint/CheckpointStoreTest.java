package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.safetensors.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {
  @TempDir Path dir;
  final List<CheckpointEvent> events = new ArrayList<>();

  CheckpointStore open() throws IOException {
    return builder().open();
  }

  CheckpointStore.Builder builder() {
    return CheckpointStore.builder(dir.resolve("checkpoints"))
        .events(events::add)
        .clock(Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC));
  }

  @Test
  void savesTheDocumentedLayoutAndLoadsItBack() throws IOException {
    try (CheckpointStore store = open()) {
      SavedCheckpoint saved = store.save(Fixtures.checkpoint(100, 1000));
      assertThat(saved.folder()).isEqualTo(dir.resolve("checkpoints/step-100"));
      try (Stream<Path> files = Files.list(saved.folder())) {
        assertThat(files.map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrder(
                "model.safetensors", "optimizer.safetensors", "state.json", "manifest.json");
      }
      JsonNode manifest =
          new ObjectMapper().readTree(saved.folder().resolve("manifest.json").toFile());
      assertThat(manifest.get("format").asText()).isEqualTo("cairn-checkpoint");
      assertThat(manifest.get("format_version").asInt()).isEqualTo(1);
      assertThat(manifest.get("step").asLong()).isEqualTo(100);
      assertThat(manifest.get("created").asText()).isEqualTo("2026-11-26T10:00:00Z");
      assertThat(manifest.get("metadata").get("note").asText()).isEqualTo("fixture");
      JsonNode model = manifest.get("files").get(0);
      assertThat(model.get("path").asText()).isEqualTo("model.safetensors");
      assertThat(model.get("size").asLong())
          .isEqualTo(Files.size(saved.folder().resolve("model.safetensors")));
      assertThat(model.has("sha256")).as("SHA-256 is recorded only when asked for").isFalse();
      assertThat(model.get("crc32c_chunk_bytes").asLong()).isEqualTo(64L << 20);
      assertThat(model.get("crc32c")).hasSize(1);
      assertThat(manifest.get("manifest_sha256").asText()).hasSize(64);

      try (LoadedCheckpoint c = store.load(100)) {
        Fixtures.assertIntact(c, 1000);
      }
      assertThat(events)
          .extracting(CheckpointEvent::type)
          .containsExactly(CheckpointEvent.Type.SAVED);
    }
  }

  @Test
  void manifestChecksumsMatchAnIndependentComputation() throws Exception {
    try (CheckpointStore store = builder().sha256(true).open()) {
      SavedCheckpoint saved = store.save(Fixtures.checkpoint(1, 5000));
      for (Manifest.FileEntry f : saved.manifest().files()) {
        byte[] bytes = Files.readAllBytes(saved.folder().resolve(f.path()));
        String sha =
            java.util.HexFormat.of()
                .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes);
        assertThat(f.sha256()).isEqualTo(sha);
        assertThat(f.crc32c()).containsExactly(String.format("%08x", crc.getValue()));
        assertThat(f.size()).isEqualTo(bytes.length);
      }
    }
  }

  @Test
  void fullVerificationChecksTheSha256WhereOneIsRecorded() throws Exception {
    try (CheckpointStore store = builder().sha256(true).open()) {
      store.save(Fixtures.checkpoint(1, 2000));
    }
    try (CheckpointStore store = open()) {
      store.save(Fixtures.checkpoint(2, 2000));
    }
    Path ck = dir.resolve("checkpoints");
    assertThat(CheckpointStore.verifyFolder(ck.resolve("step-1"), Verification.FULL).ok()).isTrue();
    assertThat(CheckpointStore.verifyFolder(ck.resolve("step-2"), Verification.FULL).ok()).isTrue();
    // A recorded SHA-256 that the bytes do not match, in a manifest whose seal is intact: only
    // the SHA-256 check can tell (the CRC32C still match).
    Path m = ck.resolve("step-1/manifest.json");
    Manifest before = ManifestCodec.decode(Files.readAllBytes(m), m);
    List<Manifest.FileEntry> files = new ArrayList<>();
    for (Manifest.FileEntry f : before.files()) {
      String sha = f.path().equals("model.safetensors") ? "ab".repeat(32) : f.sha256();
      files.add(new Manifest.FileEntry(f.path(), f.size(), sha, f.crc32cChunkBytes(), f.crc32c()));
    }
    Files.write(
        m,
        ManifestCodec.encode(
            new Manifest(
                before.formatVersion(),
                before.step(),
                before.name(),
                before.created(),
                before.metrics(),
                before.metadata(),
                before.parts(),
                files)));
    assertThat(CheckpointStore.verifyFolder(ck.resolve("step-1"), Verification.CRC32C).ok())
        .isTrue();
    VerifyResult full = CheckpointStore.verifyFolder(ck.resolve("step-1"), Verification.FULL);
    assertThat(full.ok()).isFalse();
    assertThat(full.problems()).anyMatch(p -> p.contains("SHA-256 mismatch"));
  }

  @Test
  void latestValidSkipsDamagedCheckpointsAndSaysWhich() throws IOException {
    try (CheckpointStore store = open()) {
      store.save(Fixtures.checkpoint(10, 500));
      store.save(Fixtures.checkpoint(20, 500));
      store.save(Fixtures.checkpoint(30, 500));
      Files.delete(dir.resolve("checkpoints/step-30/manifest.json"));
      Path model20 = dir.resolve("checkpoints/step-20/model.safetensors");
      byte[] b = Files.readAllBytes(model20);
      b[b.length - 3] ^= 0x10;
      Files.write(model20, b);
      events.clear();
      Optional<LoadedCheckpoint> latest = store.loadLatestValid();
      assertThat(latest).isPresent();
      try (LoadedCheckpoint c = latest.get()) {
        assertThat(c.step()).isEqualTo(10);
        Fixtures.assertIntact(c, 500);
      }
      assertThat(events)
          .extracting(CheckpointEvent::type)
          .containsExactly(
              CheckpointEvent.Type.SKIPPED_INVALID, CheckpointEvent.Type.SKIPPED_INVALID);
      assertThat(events.get(0).message()).contains("step-30").contains("manifest.json");
      assertThat(events.get(1).message())
          .contains("step-20")
          .contains("model.safetensors")
          .contains("CRC32C mismatch");
    }
  }

  @Test
  void readTensorsStreamsVerifiedDataIntoCallerBuffers() throws IOException {
    try (CheckpointStore store =
        CheckpointStore.builder(dir.resolve("checkpoints")).directIoThreshold(0).open()) {
      store.save(Fixtures.checkpoint(4, 3_000_000));
      java.util.Map<String, java.nio.ByteBuffer> into = new java.util.HashMap<>();
      try (LoadedCheckpoint c = store.load(4, Verification.SIZES)) {
        c.readTensors(
            "model",
            t -> {
              java.nio.ByteBuffer b =
                  java.nio.ByteBuffer.allocateDirect((int) t.byteSize())
                      .order(java.nio.ByteOrder.LITTLE_ENDIAN);
              into.put(t.name(), b);
              return b;
            });
      }
      float[] w = new float[3_000_000];
      into.get("layer0.weight").flip().asFloatBuffer().get(w);
      assertThat(java.util.Arrays.mismatch(w, Fixtures.weights(4, 3_000_000))).isEqualTo(-1);

      Path model = dir.resolve("checkpoints/step-4/model.safetensors");
      byte[] b = Files.readAllBytes(model);
      b[b.length - 100] ^= 4;
      Files.write(model, b);
      try (LoadedCheckpoint c = store.load(4, Verification.SIZES)) {
        assertThatThrownBy(
                () -> c.readTensors("model", t -> java.nio.ByteBuffer.allocate((int) t.byteSize())))
            .isInstanceOf(CorruptCheckpointException.class)
            .hasMessageContaining("model.safetensors")
            .hasMessageContaining("CRC32C mismatch");
      }
    }
  }

  /**
   * Both restore paths: copied out of aligned chunks (storage with O_DIRECT) and read straight into
   * the caller's buffers (storage without), over tensors that cross chunk boundaries, one skipped,
   * heap and direct buffers, and damage found either way.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
  void readTensorsFillsEveryWantedTensorExactlyOnEitherPath(boolean directIo) throws IOException {
    dev.cairn.store.Storage local = dev.cairn.store.Storage.at(dir.resolve("checkpoints"));
    dev.cairn.store.Storage storage =
        new dev.cairn.testkit.ForwardingStorage(local) {
          @Override
          public Capabilities capabilities() {
            Capabilities c = inner.capabilities();
            return new Capabilities(
                c.atomicRename(),
                directIo && c.directIo(),
                c.mmap(),
                c.locks(),
                c.append(),
                c.readWhileWriting(),
                c.freeSpaceKnown());
          }

          @Override
          public Input openSequential(String name) throws IOException {
            return directIo ? inner.openSequential(name) : inner.open(name); // as promised
          }

          @Override
          public Listing listing(String folder) {
            return Listing.byName(this, folder);
          }
        };
    int floats = 5_000_000; // 20 MB: three 8 MiB read chunks, one of them across two tensors
    try (CheckpointStore store = CheckpointStore.builder(storage).events(e -> {}).open()) {
      store.save(
          Checkpoint.at(7)
              .tensors(
                  "model",
                  List.of(
                      Tensor.of("a", Fixtures.weights(1, floats), floats),
                      Tensor.of("skipped", Fixtures.weights(2, 1000), 1000),
                      Tensor.of("b", Fixtures.weights(3, floats / 2), floats / 2),
                      Tensor.of("c", Fixtures.weights(4, 3), 3)))
              .build());
      java.util.Map<String, java.nio.ByteBuffer> into = new java.util.HashMap<>();
      try (LoadedCheckpoint c = store.load(7, Verification.SIZES)) {
        c.readTensors(
            "model",
            t -> {
              if (t.name().equals("skipped")) {
                return null;
              }
              java.nio.ByteBuffer b =
                  t.name().equals("b")
                      ? java.nio.ByteBuffer.allocate((int) t.byteSize() + 10).position(10)
                      : java.nio.ByteBuffer.allocateDirect((int) t.byteSize());
              into.put(t.name(), b);
              return b.order(java.nio.ByteOrder.LITTLE_ENDIAN);
            });
      }
      assertThat(into.get("a").remaining()).as("positions advance to the end").isZero();
      assertThat(floats(into.get("a").flip())).isEqualTo(Fixtures.weights(1, floats));
      assertThat(floats(into.get("b").flip().position(10)))
          .isEqualTo(Fixtures.weights(3, floats / 2));
      assertThat(floats(into.get("c").flip())).isEqualTo(Fixtures.weights(4, 3));

      Path model = dir.resolve("checkpoints/step-7/model.safetensors");
      byte[] b = Files.readAllBytes(model);
      b[b.length / 2] ^= 1; // inside tensor a, in the middle chunk
      Files.write(model, b);
      try (LoadedCheckpoint c = store.load(7, Verification.SIZES)) {
        assertThatThrownBy(
                () -> c.readTensors("model", t -> java.nio.ByteBuffer.allocate((int) t.byteSize())))
            .isInstanceOf(CorruptCheckpointException.class)
            .hasMessageContaining("CRC32C mismatch");
      }
    }
  }

  private static float[] floats(java.nio.ByteBuffer b) {
    float[] out = new float[b.remaining() / 4];
    b.order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  @Test
  void emptyStoreHasNothingToResume() throws IOException {
    try (CheckpointStore store = open()) {
      assertThat(store.loadLatestValid()).isEmpty();
      assertThat(store.list()).isEmpty();
    }
  }

  @Test
  void leftoversOfInterruptedSavesAreRemovedAtOpenAndNeverRead() throws IOException {
    Path ck = dir.resolve("checkpoints");
    Files.createDirectories(ck.resolve("step-5.tmp-0badc0de"));
    Files.writeString(ck.resolve("step-5.tmp-0badc0de/model.safetensors"), "half");
    Files.createDirectories(ck.resolve("step-3.deleting-12345678"));
    try (CheckpointStore store = open()) {
      assertThat(ck.resolve("step-5.tmp-0badc0de")).doesNotExist();
      assertThat(ck.resolve("step-3.deleting-12345678")).doesNotExist();
      assertThat(events)
          .extracting(CheckpointEvent::type)
          .containsOnly(CheckpointEvent.Type.REMOVED_LEFTOVER);
      assertThat(store.list()).isEmpty();
    }
  }

  @Test
  void aValidStepIsNeverOverwrittenButADamagedOneIsMovedAside() throws IOException {
    try (CheckpointStore store = open()) {
      store.save(Fixtures.checkpoint(7, 100));
      assertThatThrownBy(() -> store.save(Fixtures.checkpoint(7, 100)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("already exists");
      Files.write(dir.resolve("checkpoints/step-7/state.json"), new byte[] {'x'});
      store.save(Fixtures.checkpoint(7, 100));
      try (LoadedCheckpoint c = store.load(7)) {
        Fixtures.assertIntact(c, 100);
      }
      try (Stream<Path> s = Files.list(dir.resolve("checkpoints"))) {
        assertThat(s.map(p -> p.getFileName().toString()))
            .anyMatch(n -> n.startsWith("step-7.damaged-"));
      }
      assertThat(events)
          .extracting(CheckpointEvent::type)
          .contains(CheckpointEvent.Type.MOVED_ASIDE);
    }
  }

  @Test
  void refusesASaveThatCannotFitAndWritesNothing() throws IOException {
    dev.cairn.testkit.CrashFileSystem fs =
        dev.cairn.testkit.CrashFileSystem.wrap(dir.resolve("fs"));
    try (CheckpointStore store = CheckpointStore.builder(fs.root().resolve("ck")).open()) {
      store.save(Fixtures.checkpoint(1, 100));
      fs.setUsableSpace(1000);
      assertThatThrownBy(() -> store.save(Fixtures.checkpoint(2, 100_000)))
          .isInstanceOf(dev.cairn.store.InsufficientSpaceException.class)
          .hasMessageMatching("not enough space: need [0-9.]+ [KMG]iB, have 1000 B in .*ck");
      try (Stream<Path> s = Files.list(dir.resolve("fs/ck"))) {
        assertThat(s.map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrder("step-1", ".lock");
      }
    }
  }

  @Test
  void badNamesAreRefusedBeforeAnythingIsWritten() throws IOException {
    try (CheckpointStore store = open()) {
      for (String bad : new String[] {"a/b", "..", ".", "../../etc", "", "x".repeat(65), "é"}) {
        assertThatThrownBy(() -> Checkpoint.at(1).tensors(bad, List.of()))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("part name");
        assertThatThrownBy(() -> Checkpoint.at(1).name(bad))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("checkpoint name");
      }
      assertThatThrownBy(() -> Checkpoint.at(-1)).hasMessageContaining("0 or more");
      assertThatThrownBy(
              () -> Checkpoint.at(1).json("manifest", new ObjectMapper().createObjectNode()))
          .hasMessageContaining("reserved");
      try (Stream<Path> s = Files.list(store.folder())) {
        assertThat(s.map(p -> p.getFileName().toString())).containsExactly(".lock");
      }
    }
  }

  @Test
  void namedAndPinnedCheckpointsSurviveRetention() throws IOException {
    try (CheckpointStore store = open()) {
      for (long step = 1; step <= 10; step++) {
        Checkpoint.Builder b =
            Checkpoint.at(step)
                .metric("val_loss", Math.abs(step - 4) + 0.5)
                .tensors("model", List.of(Tensor.of("w", new float[] {step}, 1)));
        if (step == 2) {
          b.name("warmup-done");
        }
        store.save(b.build());
      }
      store.pin(6);
      List<Long> deleted =
          store.applyRetention(
              RetentionPolicy.builder()
                  .keepLast(2)
                  .keepBest(1, "val_loss", RetentionPolicy.Goal.MIN)
                  .build());
      assertThat(deleted).containsExactly(1L, 3L, 5L, 7L, 8L);
      assertThat(store.list())
          .extracting(CheckpointInfo::step)
          .containsExactly(2L, 4L, 6L, 9L, 10L);
      store.unpin(6);
      assertThat(store.applyRetention(RetentionPolicy.builder().keepLast(1).build()))
          .containsExactly(4L, 6L, 9L);
      assertThat(store.list()).extracting(CheckpointInfo::step).containsExactly(2L, 10L);
      assertThat(store.applyRetention(RetentionPolicy.keepAll())).isEmpty();
    }
  }

  @Test
  void aPinFromAnotherProcessDuringRetentionIsHonoured() throws IOException {
    dev.cairn.testkit.CrashFileSystem fs = dev.cairn.testkit.CrashFileSystem.wrap(dir);
    Path folder = fs.root().resolve("pinned-during");
    try (CheckpointStore store = CheckpointStore.builder(folder).events(e -> {}).open()) {
      for (long step = 1; step <= 3; step++) {
        store.save(Fixtures.checkpoint(step, 64));
      }
      // While retention removes step 1, someone pins step 2 (the dashboard's Pin button): the
      // list retention decided on is already stale.
      boolean[] pinned = {false};
      fs.setFaultHook(
          (index, op, path) -> {
            if (!pinned[0]
                && op == dev.cairn.testkit.FaultHook.Op.RENAME
                && path.toString().contains("step-1")) {
              pinned[0] = true;
              Files.createDirectories(folder.resolve("pinned"));
              Files.createFile(folder.resolve("pinned").resolve("step-2"));
            }
          });
      assertThat(store.applyRetention(RetentionPolicy.builder().keepLast(1).build()))
          .containsExactly(1L);
      assertThat(pinned[0]).isTrue();
      assertThat(store.list()).extracting(CheckpointInfo::step).containsExactly(2L, 3L);
    }
  }

  @Test
  void oneWriterAtATime() throws IOException {
    try (CheckpointStore store = open()) {
      assertThatThrownBy(this::open)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("another writer");
      try (CheckpointStore reader = CheckpointStore.builder(store.folder()).readOnly(true).open()) {
        assertThat(reader.list()).isEmpty();
        assertThatThrownBy(() -> reader.save(Fixtures.checkpoint(1, 10)))
            .hasMessageContaining("read-only");
      }
    }
    open().close();
  }

  @Test
  void markerStrategyCommitsWithTheManifestWrittenLast() throws IOException {
    Path ck = dir.resolve("marker");
    Files.createDirectories(ck.resolve("step-9"));
    Files.writeString(ck.resolve("step-9/model.safetensors"), "abandoned");
    try (CheckpointStore store =
        CheckpointStore.builder(ck)
            .storage(dev.cairn.store.Storage.atWithoutAtomicRename(ck))
            .events(events::add)
            .open()) {
      assertThat(ck.resolve("step-9")).doesNotExist();
      store.save(Fixtures.checkpoint(9, 300));
      try (Stream<Path> s = Files.list(ck)) {
        assertThat(s.map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrder("step-9", ".lock");
      }
      try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
        Fixtures.assertIntact(c, 300);
      }
    }
  }
}
