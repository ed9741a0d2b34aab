package dev.cairn.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CrashFileSystemTest {
  @TempDir Path real;

  private static void write(Path p, String text, boolean sync) throws IOException {
    try (FileChannel ch =
        FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
      if (sync) {
        ch.force(true);
      }
    }
  }

  private static void syncDir(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  @Test
  void fullySyncedFileSurvivesEveryCrash() throws IOException {
    CrashFileSystem fs = CrashFileSystem.wrap(real);
    Path root = fs.root();
    for (int seed = 0; seed < 50; seed++) {
      Path f = root.resolve("f" + seed);
      write(f, "durable " + seed, true);
      syncDir(root);
      fs.crash(seed);
      assertThat(Files.readString(real.resolve("f" + seed))).isEqualTo("durable " + seed);
    }
  }

  @Test
  void unsyncedDataIsSometimesLostAndSometimesDamaged() throws IOException {
    Set<String> outcomes = new HashSet<>();
    for (int seed = 0; seed < 200; seed++) {
      Path dir = real.resolve("case" + seed);
      Files.createDirectories(dir);
      CrashFileSystem fs = CrashFileSystem.wrap(dir);
      write(fs.root().resolve("f"), "0123456789", false);
      fs.crash(seed);
      Path f = dir.resolve("f");
      outcomes.add(!Files.exists(f) ? "absent" : Files.readAllBytes(f).length + "");
    }
    // Absent (entry lost), empty (data lost), partial and complete all happen.
    assertThat(outcomes).contains("absent", "0", "10");
    assertThat(outcomes.size()).isGreaterThan(4);
  }

  @Test
  void fileDataSyncedButFolderNotMayVanish() throws IOException {
    boolean sawMissing = false;
    boolean sawPresent = false;
    for (int seed = 0; seed < 64; seed++) {
      Path dir = real.resolve("c" + seed);
      Files.createDirectories(dir);
      CrashFileSystem fs = CrashFileSystem.wrap(dir);
      write(fs.root().resolve("f"), "x", true);
      fs.crash(seed);
      if (Files.exists(dir.resolve("f"))) {
        sawPresent = true;
        assertThat(Files.readString(dir.resolve("f"))).isEqualTo("x");
      } else {
        sawMissing = true;
      }
    }
    assertThat(sawMissing).isTrue();
    assertThat(sawPresent).isTrue();
  }

  @Test
  void unsyncedRenameOfAFolderIsAllOrNothingPerName() throws IOException {
    Set<String> outcomes = new HashSet<>();
    for (int seed = 0; seed < 64; seed++) {
      Path dir = real.resolve("r" + seed);
      Files.createDirectories(dir);
      CrashFileSystem fs = CrashFileSystem.wrap(dir);
      Path tmp = fs.root().resolve("tmp");
      Files.createDirectory(tmp);
      write(tmp.resolve("data"), "payload", true);
      syncDir(tmp);
      syncDir(fs.root());
      Files.move(tmp, fs.root().resolve("final"), StandardCopyOption.ATOMIC_MOVE);
      fs.crash(seed);
      boolean t = Files.exists(dir.resolve("tmp/data"));
      boolean f = Files.exists(dir.resolve("final/data"));
      outcomes.add(t + "/" + f);
      // Whatever name survives carries the whole, synced content.
      if (f) {
        assertThat(Files.readString(dir.resolve("final/data"))).isEqualTo("payload");
      }
      if (t) {
        assertThat(Files.readString(dir.resolve("tmp/data"))).isEqualTo("payload");
      }
    }
    assertThat(outcomes).contains("true/false", "false/true");
  }

  @Test
  void syncedRenameSurvives() throws IOException {
    for (int seed = 0; seed < 32; seed++) {
      Path dir = real.resolve("s" + seed);
      Files.createDirectories(dir);
      CrashFileSystem fs = CrashFileSystem.wrap(dir);
      Path tmp = fs.root().resolve("tmp");
      Files.createDirectory(tmp);
      write(tmp.resolve("data"), "payload", true);
      syncDir(tmp);
      Files.move(tmp, fs.root().resolve("final"), StandardCopyOption.ATOMIC_MOVE);
      syncDir(fs.root());
      fs.crash(seed);
      assertThat(Files.readString(dir.resolve("final/data"))).isEqualTo("payload");
      assertThat(dir.resolve("tmp")).doesNotExist();
    }
  }

  @Test
  void unsyncedDeleteMayComeBack() throws IOException {
    boolean cameBack = false;
    for (int seed = 0; seed < 32; seed++) {
      Path dir = real.resolve("d" + seed);
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("old"), "old content");
      CrashFileSystem fs = CrashFileSystem.wrap(dir);
      Files.delete(fs.root().resolve("old"));
      fs.crash(seed);
      if (Files.exists(dir.resolve("old"))) {
        cameBack = true;
        assertThat(Files.readString(dir.resolve("old"))).isEqualTo("old content");
      }
    }
    assertThat(cameBack).isTrue();
  }

  @Test
  void crashPointStopsEveryLaterMutation() throws IOException {
    CrashFileSystem fs = CrashFileSystem.wrap(real);
    fs.setFaultHook(FaultHook.crashAt(1));
    Path root = fs.root();
    Files.createDirectory(root.resolve("a"));
    assertThatThrownBy(() -> Files.createDirectory(root.resolve("b")))
        .isInstanceOf(SimulatedCrashException.class);
    assertThatThrownBy(() -> Files.createDirectory(root.resolve("c")))
        .isInstanceOf(SimulatedCrashException.class);
    fs.crash(1);
    Files.createDirectory(root.resolve("d"));
    assertThat(real.resolve("d")).isDirectory();
    assertThat(real.resolve("b")).doesNotExist();
  }

  @Test
  void reportsConfiguredUsableSpace() throws IOException {
    CrashFileSystem fs = CrashFileSystem.wrap(real);
    fs.setUsableSpace(12345);
    assertThat(Files.getFileStore(fs.root()).getUsableSpace()).isEqualTo(12345);
    fs.setUsableSpace(-1);
    assertThat(Files.getFileStore(fs.root()).getUsableSpace()).isGreaterThan(12345);
  }

  @Test
  void countsOperations() throws IOException {
    CrashFileSystem fs = CrashFileSystem.wrap(real);
    write(fs.root().resolve("x"), "abc", true);
    // create, write, fsync
    assertThat(fs.operationCount()).isEqualTo(3);
  }
}
