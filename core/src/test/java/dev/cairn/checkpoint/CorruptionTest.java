package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damage to a real checkpoint — truncation at every 4 KiB boundary of every file, and thousands of
 * seeded single-bit flips anywhere in it — is always detected, and loading falls back to the
 * previous good checkpoint.
 */
class CorruptionTest {
  static final int FLOATS = 12_000;
  @TempDir Path dir;
  Path ck;
  List<Path> files;
  final List<CheckpointEvent> events = new ArrayList<>();

  @BeforeEach
  void twoCheckpoints() throws IOException {
    ck = dir.resolve("ck");
    try (CheckpointStore store = CheckpointStore.open(ck)) {
      store.save(Fixtures.checkpoint(1, 100));
      store.save(Fixtures.checkpoint(2, FLOATS));
    }
    try (Stream<Path> s = Files.list(ck.resolve("step-2"))) {
      files = s.sorted().toList();
    }
  }

  /** Loads the latest valid checkpoint and asserts it fell back to step 1. */
  private void assertFallsBack(String what) throws IOException {
    events.clear();
    try (CheckpointStore store =
            CheckpointStore.builder(ck).readOnly(true).events(events::add).open();
        LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
      assertThat(c.step()).as(what + " must be detected").isEqualTo(1);
      Fixtures.assertIntact(c, 100);
    }
    assertThat(events).as(what).hasSize(1);
    assertThat(events.get(0).type()).isEqualTo(CheckpointEvent.Type.SKIPPED_INVALID);
    assertThat(events.get(0).message()).contains("step-2");
  }

  @Test
  void truncationAtEvery4KiBBoundaryIsDetected() throws IOException {
    int cases = 0;
    for (Path f : files) {
      byte[] original = Files.readAllBytes(f);
      List<Integer> lengths = new ArrayList<>();
      for (int len = 0; len < original.length; len += 4096) {
        lengths.add(len);
      }
      lengths.add(original.length - 1);
      for (int len : lengths) {
        Files.write(f, java.util.Arrays.copyOf(original, len));
        assertFallsBack(f.getFileName() + " truncated to " + len);
        cases++;
      }
      Files.write(f, original);
    }
    assertThat(cases).isGreaterThan(20);
    // And the untouched checkpoint still loads: the damage, not the test, made it fail.
    try (CheckpointStore store = CheckpointStore.builder(ck).readOnly(true).open();
        LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
      assertThat(c.step()).isEqualTo(2);
      Fixtures.assertIntact(c, FLOATS);
    }
  }

  @Test
  void thousandsOfSeededBitFlipsAreAllDetected() throws IOException {
    SplittableRandom random = new SplittableRandom(2026);
    List<byte[]> originals = new ArrayList<>();
    for (Path f : files) {
      originals.add(Files.readAllBytes(f));
    }
    for (int i = 0; i < 1500; i++) {
      // Every file gets flips, small ones (manifest, JSON state) as often as the tensor files.
      int which = random.nextInt(files.size());
      byte[] damaged = originals.get(which).clone();
      int at = random.nextInt(damaged.length);
      int bit = random.nextInt(8);
      damaged[at] ^= (byte) (1 << bit);
      Files.write(files.get(which), damaged);
      assertFallsBack(files.get(which).getFileName() + " byte " + at + " bit " + bit);
      Files.write(files.get(which), originals.get(which));
    }
  }

  @Test
  void verificationNamesTheFileAndTheDamagedRange() throws IOException {
    Path model = ck.resolve("step-2/model.safetensors");
    byte[] b = Files.readAllBytes(model);
    b[40_000] ^= 1;
    Files.write(model, b);
    VerifyResult r = CheckpointStore.verifyFolder(ck.resolve("step-2"), Verification.FULL);
    assertThat(r.ok()).isFalse();
    assertThat(r.problems()).hasSize(1);
    assertThat(r.problems().get(0))
        .contains("model.safetensors")
        .contains("CRC32C mismatch in bytes [0, " + b.length + ")");
    assertThat(CheckpointStore.verifyFolder(ck.resolve("step-1"), Verification.FULL).ok()).isTrue();
  }
}
