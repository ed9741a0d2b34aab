package dev.cairn.run;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.store.Storage;
import dev.cairn.testkit.FaultyStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run folder's remote copy: what a reader on another machine gets from it, and when. */
class RunMirrorTest {
  static final Duration LONG = Duration.ofHours(1);
  static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path tmp;

  /** The events a mirror reported. */
  static final class Recorded implements Events {
    final List<String> failures = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void emit(EventType type, long step, String message, ObjectNode fields) {
      if (type == EventType.MONITORING_FAILED) {
        failures.add(message);
      }
    }
  }

  /** A run folder as a run writes it, with the files that must never be mirrored beside. */
  static Path runFolder(Path dir) throws IOException {
    Files.createDirectories(dir.resolve("plots"));
    Files.createDirectories(dir.resolve("tb"));
    Files.createDirectories(dir.resolve("checkpoints/step-10"));
    Files.createDirectories(dir.resolve("control"));
    Files.writeString(dir.resolve("run.json"), "{\"id\":\"r\",\"config\":{\"lr\":0.1}}");
    Files.writeString(dir.resolve("sessions.jsonl"), "{\"type\":\"start\",\"session\":1}\n");
    appendLines(dir.resolve("metrics.jsonl"), 0, 20);
    Files.writeString(dir.resolve("system.jsonl"), "{\"cpu\":0.5}\n{\"cpu\":0.6}\n");
    Files.writeString(dir.resolve("events.jsonl"), "{\"type\":\"run_started\"}\n");
    Files.writeString(dir.resolve("training.log"), "step 1 loss 1.0\nstep 2 loss 0.5\n");
    Files.writeString(dir.resolve("progress.json"), "{\"step\":20}");
    Files.writeString(dir.resolve("results.json"), "{\"loss\":0.05}");
    Files.write(dir.resolve("plots/loss_latest.png"), random(5000, 1));
    Files.write(dir.resolve("tb/events.out.tfevents.1.host"), random(3001, 2));
    Files.write(dir.resolve("checkpoints/step-10/model.safetensors"), random(100, 3));
    Files.writeString(dir.resolve("control/save.json"), "{}");
    Files.write(dir.resolve("metrics.bin"), random(700, 4));
    Files.writeString(dir.resolve(".lock"), "");
    Files.writeString(dir.resolve(".progress.json.tmp-1f2e"), "{\"st");
    return dir;
  }

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) {
      b[i] = (byte) r.nextInt(256);
    }
    return b;
  }

  static void appendLines(Path file, int from, int to) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int i = from; i < to; i++) {
      b.append("{\"step\":").append(i).append(",\"loss\":").append(1.0 / (i + 1)).append("}\n");
    }
    append(file, b.toString());
  }

  static void append(Path file, String text) throws IOException {
    Files.writeString(file, text, UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /** Every regular file under {@code dir} by relative name, with its bytes. */
  static Map<String, byte[]> files(Path dir) throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
        out.put(dir.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
      }
    }
    return out;
  }

  /**
   * The local files a reader must get: all but checkpoints, control, the lock, temporaries and the
   * metrics sidecar.
   */
  static Map<String, byte[]> mirrored(Path dir) throws IOException {
    Map<String, byte[]> all = files(dir);
    all.keySet()
        .removeIf(
            n ->
                n.startsWith("checkpoints/")
                    || n.startsWith("control/")
                    || n.equals(".lock")
                    || n.equals("metrics.bin")
                    || n.contains(".tmp"));
    return all;
  }

  static void assertSameFiles(Path pulled, Map<String, byte[]> expected) throws IOException {
    Map<String, byte[]> got = files(pulled);
    assertThat(got.keySet()).containsExactlyElementsOf(expected.keySet());
    for (var e : expected.entrySet()) {
      assertThat(got.get(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
    }
  }

  static String text(Path file) throws IOException {
    return Files.readString(file, UTF_8);
  }

  @Test
  void aPulledCopyHoldsEveryFileByteForByteButNotCheckpointsControlOrScratch() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    Storage remote = Storage.at(Files.createDirectories(tmp.resolve("remote")));
    Recorded events = new Recorded();
    try (RunMirror m = RunMirror.start(run, remote, LONG, events)) {
      m.pushNow();
    }
    assertThat(RunMirror.exists(remote)).isTrue();
    assertThat(RunMirror.exists(Storage.at(tmp.resolve("elsewhere")))).isFalse();
    assertThat(remote.exists("checkpoints")).isFalse();
    assertThat(remote.exists("control")).isFalse();

    Path reader = tmp.resolve("reader/run");
    RunMirror.pull(remote, reader);
    assertSameFiles(reader, mirrored(run));
    assertThat(mirrored(run)).hasSize(10);
    assertThat(events.failures).isEmpty();
  }

  @Test
  void aReaderGetsWholeLinesOnlyAndTheRestOnceTheLineIsComplete() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    Storage remote = Storage.at(Files.createDirectories(tmp.resolve("remote")));
    Path reader = tmp.resolve("reader");
    try (RunMirror m = RunMirror.start(run, remote, LONG, Events.NONE)) {
      m.pushNow();
      RunMirror.pull(remote, reader);
      String before = text(run.resolve("metrics.jsonl"));

      appendLines(run.resolve("metrics.jsonl"), 20, 25);
      append(run.resolve("training.log"), "step 3 loss 0.3\n");
      String whole = text(run.resolve("metrics.jsonl"));
      append(run.resolve("metrics.jsonl"), "{\"step\":25,\"lo");
      m.pushNow();
      RunMirror.pull(remote, reader);
      assertThat(text(reader.resolve("metrics.jsonl"))).isEqualTo(whole).startsWith(before);
      assertThat(text(reader.resolve("training.log"))).endsWith("step 3 loss 0.3\n");

      append(run.resolve("metrics.jsonl"), "ss\":0.04}\n");
      m.pushNow();
      RunMirror.pull(remote, reader);
      assertThat(text(reader.resolve("metrics.jsonl")))
          .isEqualTo(whole + "{\"step\":25,\"loss\":0.04}\n");
      assertSameFiles(reader, mirrored(run));
    }
  }

  @Test
  void aPartialSegmentIsIgnoredByReadersAndRepairedByTheNextWriter() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    Path remoteDir = Files.createDirectories(tmp.resolve("remote"));
    Storage remote = Storage.at(remoteDir);
    try (RunMirror m = RunMirror.start(run, remote, LONG, Events.NONE)) {
      m.pushNow();
    }
    String pushed = text(run.resolve("metrics.jsonl"));
    // The writer died while it wrote the next segment: half of it reached the remote.
    appendLines(run.resolve("metrics.jsonl"), 20, 30);
    byte[] tail = text(run.resolve("metrics.jsonl")).substring(pushed.length()).getBytes(UTF_8);
    String partial = String.format("metrics.jsonl.parts/%016d-%016d", pushed.length(), tail.length);
    Files.write(remoteDir.resolve(partial), java.util.Arrays.copyOf(tail, tail.length / 2));

    Path reader = tmp.resolve("reader");
    RunMirror.pull(remote, reader);
    assertThat(text(reader.resolve("metrics.jsonl"))).isEqualTo(pushed);

    try (RunMirror restarted = RunMirror.start(run, remote, LONG, Events.NONE)) {
      restarted.pushNow();
    }
    assertThat(Files.size(remoteDir.resolve(partial))).isEqualTo(tail.length);
    RunMirror.pull(remote, reader);
    assertSameFiles(reader, mirrored(run));
  }

  @Test
  void manySmallPushesAreCompactedAndStillReadBackByteIdentical() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    Storage remote = Storage.at(Files.createDirectories(tmp.resolve("remote")));
    Path reader = tmp.resolve("reader");
    int most = 0;
    try (RunMirror m = RunMirror.start(run, remote, LONG, Events.NONE)) {
      for (int pass = 0; pass < 150; pass++) {
        appendLines(run.resolve("metrics.jsonl"), 100 + pass, 101 + pass);
        m.pushNow();
        most = Math.max(most, remote.list("metrics.jsonl.parts").size());
        if (pass % 50 == 7) {
          RunMirror.pull(remote, reader);
          assertThat(text(reader.resolve("metrics.jsonl")))
              .isEqualTo(text(run.resolve("metrics.jsonl")));
        }
      }
    }
    assertThat(most).isBetween(MirrorLayout.MAX_SEGMENTS, MirrorLayout.MAX_SEGMENTS + 1);
    assertThat(remote.list("metrics.jsonl.parts").size()).isLessThan(150);
    RunMirror.pull(remote, reader);
    assertSameFiles(reader, mirrored(run));
  }

  @Test
  void aReaderWhoseSegmentIsCompactedAwayMidPullReadsItsReplacement() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    Storage real = Storage.at(Files.createDirectories(tmp.resolve("remote")));
    try (RunMirror m = RunMirror.start(run, real, LONG, Events.NONE)) {
      for (int pass = 0; pass < 60; pass++) {
        appendLines(run.resolve("metrics.jsonl"), 100 + pass, 101 + pass);
        m.pushNow();
      }
      FaultyStorage reading = new FaultyStorage(real);
      AtomicInteger opens = new AtomicInteger();
      reading.setHook(
          (index, op, name) -> {
            if (op == FaultyStorage.Op.OPEN
                && name.startsWith("metrics.jsonl.parts/")
                && opens.incrementAndGet() == 1) {
              // The writer compacts between the reader's listing and its first read.
              for (int pass = 60; pass < 70; pass++) {
                appendLines(run.resolve("metrics.jsonl"), 100 + pass, 101 + pass);
                m.pushNow();
              }
            }
          });
      Path reader = tmp.resolve("reader");
      RunMirror.pull(reading, reader);
      assertThat(real.list("metrics.jsonl.parts")).hasSizeLessThan(60);
      assertThat(reader.resolve("metrics.jsonl"))
          .hasSameBinaryContentAs(run.resolve("metrics.jsonl"));
    }
  }

  @Test
  void aWholeFileGetsANewVersionOnlyWhenItChangedAndTheNewestTwoAreKept() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    Storage remote = Storage.at(Files.createDirectories(tmp.resolve("remote")));
    Path reader = tmp.resolve("reader");
    try (RunMirror m = RunMirror.start(run, remote, LONG, Events.NONE)) {
      m.pushNow();
      assertThat(remote.list("progress.json.versions")).hasSize(1);
      m.pushNow();
      assertThat(remote.list("progress.json.versions")).hasSize(1);
      for (int step = 21; step <= 24; step++) {
        dev.cairn.store.AtomicFile.write(
            run.resolve("progress.json"),
            ("{\"step\":" + step + "}").getBytes(UTF_8),
            dev.cairn.store.AtomicFile.Sync.OS_BUFFERED);
        m.pushNow();
      }
      assertThat(remote.list("progress.json.versions"))
          .containsExactly(
              String.format("%016d-%016d", 3, 11), String.format("%016d-%016d", 4, 11));
      RunMirror.pull(remote, reader);
      assertThat(text(reader.resolve("progress.json"))).isEqualTo("{\"step\":24}");
    }
    // A restarted writer goes on numbering, and does not push what the remote already holds.
    try (RunMirror m = RunMirror.start(run, remote, LONG, Events.NONE)) {
      m.pushNow();
      assertThat(remote.list("progress.json.versions")).hasSize(2);
      dev.cairn.store.AtomicFile.write(
          run.resolve("progress.json"),
          "{\"step\":25}".getBytes(UTF_8),
          dev.cairn.store.AtomicFile.Sync.OS_BUFFERED);
      m.pushNow();
      assertThat(remote.list("progress.json.versions"))
          .containsExactly(
              String.format("%016d-%016d", 4, 11), String.format("%016d-%016d", 5, 11));
    }
  }

  @Test
  void aPlotDeletedLocallyIsDeletedRemotely() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    Storage remote = Storage.at(Files.createDirectories(tmp.resolve("remote")));
    Files.write(run.resolve("plots/loss_step_10.png"), random(100, 9));
    try (RunMirror m = RunMirror.start(run, remote, LONG, Events.NONE)) {
      m.pushNow();
      assertThat(remote.exists("plots/loss_step_10.png.versions")).isTrue();
      Files.delete(run.resolve("plots/loss_step_10.png"));
      m.pushNow();
      assertThat(remote.exists("plots/loss_step_10.png.versions")).isFalse();
    }
    Path reader = tmp.resolve("reader");
    RunMirror.pull(remote, reader);
    assertSameFiles(reader, mirrored(run));
  }

  @Test
  void aSegmentCutShortByAFailedWriteIsRewrittenByTheNextPass() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    Path remoteDir = Files.createDirectories(tmp.resolve("remote"));
    FaultyStorage remote = new FaultyStorage(Storage.at(remoteDir));
    try (RunMirror m = RunMirror.start(run, remote, LONG, Events.NONE)) {
      assertThat(m.awaitPasses(1, WAIT)).isTrue(); // no background pass meets the faults
      m.pushNow();
      appendLines(run.resolve("metrics.jsonl"), 100, 3000); // more than one write's worth
      AtomicInteger writes = new AtomicInteger();
      remote.setHook(
          (index, op, name) -> {
            if (op == FaultyStorage.Op.OUTPUT_WRITE
                && name.startsWith("metrics.jsonl.parts/")
                && writes.incrementAndGet() == 2) {
              throw new IOException("connection reset");
            }
          });
      assertThatThrownBy(m::pushNow)
          .isInstanceOf(IOException.class)
          .hasMessageContaining(remoteDir.resolve("metrics.jsonl.parts").toString())
          .hasMessageContaining("connection reset");
      Path reader = tmp.resolve("reader");
      RunMirror.pull(remote, reader);
      assertThat(Files.size(reader.resolve("metrics.jsonl"))).isLessThan(60_000);

      remote.setHook(FaultyStorage.Hook.NONE);
      m.pushNow();
      RunMirror.pull(remote, reader);
      assertSameFiles(reader, mirrored(run));
    }
  }

  @Test
  void aSegmentWrittenWhoseAnswerWasLostIsNotWrittenTwice() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    FaultyStorage remote =
        new FaultyStorage(Storage.at(Files.createDirectories(tmp.resolve("remote"))));
    try (RunMirror m = RunMirror.start(run, remote, LONG, Events.NONE)) {
      assertThat(m.awaitPasses(1, WAIT)).isTrue(); // no background pass meets the faults
      m.pushNow();
      appendLines(run.resolve("metrics.jsonl"), 100, 110);
      AtomicInteger closes = new AtomicInteger();
      remote.setHook(
          new FaultyStorage.Hook() {
            @Override
            public void before(long index, FaultyStorage.Op op, String name) {}

            @Override
            public void after(long index, FaultyStorage.Op op, String name) throws IOException {
              if (op == FaultyStorage.Op.OUTPUT_CLOSE && closes.incrementAndGet() == 1) {
                throw new IOException("read timed out");
              }
            }
          });
      assertThatThrownBy(m::pushNow).hasMessageContaining("read timed out");
      remote.setHook(FaultyStorage.Hook.NONE);
      m.pushNow();
      appendLines(run.resolve("metrics.jsonl"), 110, 120);
      m.pushNow();
      assertThat(remote.list("metrics.jsonl.parts")).hasSize(3);
    }
    Path reader = tmp.resolve("reader");
    RunMirror.pull(remote, reader);
    assertSameFiles(reader, mirrored(run));
  }

  @Test
  void aWriterWhoseLogIsShorterThanTheRemoteOneRefusesToPushItAndSaysToPull() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    Storage remote = Storage.at(Files.createDirectories(tmp.resolve("remote")));
    try (RunMirror m = RunMirror.start(run, remote, LONG, Events.NONE)) {
      m.pushNow();
    }
    // A fresh machine that resumed the run without pulling it first.
    Path fresh = runFolder(tmp.resolve("fresh"));
    Files.writeString(fresh.resolve("metrics.jsonl"), "{\"step\":0}\n");
    try (RunMirror m = RunMirror.start(fresh, remote, LONG, Events.NONE)) {
      assertThatThrownBy(m::pushNow).hasMessageContaining("RunMirror.pull");
    }
    Path reader = tmp.resolve("reader");
    RunMirror.pull(remote, reader);
    assertThat(reader.resolve("metrics.jsonl"))
        .hasSameBinaryContentAs(run.resolve("metrics.jsonl"));
  }

  @Test
  void aFailingRemoteIsOneEventNotAnExceptionAndTheNextPushCatchesUp() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    Storage real = Storage.at(Files.createDirectories(tmp.resolve("remote")));
    FaultyStorage remote = new FaultyStorage(real);
    FaultyStorage.Hook down =
        (index, op, name) -> {
          throw new IOException("connection refused");
        };
    remote.setHook(down);
    Recorded events = new Recorded();
    RunMirror m = RunMirror.start(run, remote, LONG, events);
    try {
      assertThat(m.awaitPasses(1, WAIT)).isTrue();
      for (int pass = 2; pass <= 4; pass++) {
        appendLines(run.resolve("metrics.jsonl"), 100 + pass, 101 + pass);
        m.pushSoon();
        assertThat(m.awaitPasses(pass, WAIT)).isTrue();
      }
      assertThat(events.failures).hasSize(1);
      assertThat(events.failures.get(0))
          .contains(real.location(""))
          .contains("connection refused")
          .contains("the run goes on; the mirror retries")
          .doesNotContain("\n");

      remote.setHook(FaultyStorage.Hook.NONE);
      m.pushNow();
      Path reader = tmp.resolve("reader");
      RunMirror.pull(real, reader);
      assertSameFiles(reader, mirrored(run));

      // A success forgets the error: the same failure later is news again.
      remote.setHook(down);
      append(run.resolve("training.log"), "step 3\n");
      long done = m.passes();
      m.pushSoon();
      assertThat(m.awaitPasses(done + 1, WAIT)).isTrue();
      assertThat(events.failures).hasSize(2);
    } finally {
      m.close(Duration.ofSeconds(5));
    }
    assertThat(events.failures).hasSize(2);
  }

  @Test
  void runJsonIsPushedFirstSoAnyRemoteCopyIsARun() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    FaultyStorage remote =
        new FaultyStorage(Storage.at(Files.createDirectories(tmp.resolve("remote"))));
    List<String> created = Collections.synchronizedList(new ArrayList<>());
    remote.setHook(
        (index, op, name) -> {
          if (op == FaultyStorage.Op.CREATE) {
            created.add(name);
          }
        });
    try (RunMirror m = RunMirror.start(run, remote, LONG, Events.NONE)) {
      m.pushNow();
    }
    assertThat(created).hasSizeGreaterThan(5);
    assertThat(created.get(0)).startsWith("run.json.versions/");
  }

  @Test
  void closeReturnsWithinItsLimitWhenTheRemoteHangs() throws Exception {
    Path run = runFolder(tmp.resolve("run"));
    FaultyStorage remote =
        new FaultyStorage(Storage.at(Files.createDirectories(tmp.resolve("remote"))));
    FaultyStorage.Hang hang = new FaultyStorage.Hang();
    remote.setHook(FaultyStorage.hangAt(0, hang));
    Recorded events = new Recorded();
    try {
      RunMirror m = RunMirror.start(run, remote, LONG, events);
      assertThat(hang.awaitReached(WAIT)).isTrue();
      assertTimeoutPreemptively(WAIT, m::pushSoon);
      assertTimeoutPreemptively(WAIT, () -> m.close(Duration.ofMillis(200)));
      assertThat(events.failures).singleElement().asString().contains("did not finish within");
    } finally {
      hang.proceed();
    }
  }
}
