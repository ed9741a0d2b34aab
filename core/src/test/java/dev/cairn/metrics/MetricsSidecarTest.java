package dev.cairn.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.events.Events;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * metrics.bin, the binary sidecar of metrics.jsonl: a reader given it sees exactly what a reader of
 * metrics.jsonl alone sees, whatever state the sidecar is in (whole, torn, garbage, behind, from
 * another file), and the job's metrics do not depend on it.
 */
class MetricsSidecarTest {
  @TempDir Path dir;
  final List<String> events = new CopyOnWriteArrayList<>();
  final Events sink = (type, step, message, fields) -> events.add(type.wireName() + " " + message);
  final AtomicLong now = new AtomicLong(Instant.parse("2026-01-01T00:00:00Z").toEpochMilli());
  final Clock clock =
      new Clock() {
        @Override
        public ZoneOffset getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
          return this;
        }

        @Override
        public Instant instant() {
          return Instant.ofEpochMilli(now.get());
        }
      };

  Path jsonl() {
    return dir.resolve("metrics.jsonl");
  }

  Path bin() {
    return dir.resolve("metrics.bin");
  }

  MetricsLog open() throws IOException {
    return MetricsLog.open(
        jsonl(), bin(), Durability.OS_BUFFERED, OverflowPolicy.BLOCK, 1024, sink, clock);
  }

  /** Steps from..to: a noisy loss, a constant lr, a sparse val_loss, now and then a NaN. */
  void log(MetricsLog log, int from, int to) {
    for (int s = from; s < to; s++) {
      now.addAndGet(7 + s % 5); // about 140 steps a second: steps_per_s gets points
      MetricsLog.Record r =
          log.begin(s).put("loss", 2.0 / (1 + s) + (s % 7) * 1e-3).put("lr", 1e-3);
      if (s % 100 == 0) {
        r.put("val_loss", 1.0 / (1 + s));
      }
      if (s % 333 == 0) {
        r.put("grad_norm", Double.NaN);
      }
      r.commit();
    }
  }

  /** Everything a reader shows: names, every point of every series, the last step, the limit. */
  static Map<String, Object> seen(MetricsFile m) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (String name : m.metrics()) {
      double[][] p = m.series(name).points(Double.NEGATIVE_INFINITY);
      out.put(name, List.of(Arrays.toString(p[0]), Arrays.toString(p[1])));
    }
    out.put("last_step", m.lastStep());
    out.put("over_limit", m.overLimit());
    return out;
  }

  Map<String, Object> fromJsonl() throws IOException {
    MetricsFile m = new MetricsFile(jsonl(), null, 2_000_000, 100, PointBudget.unlimited());
    m.poll();
    return seen(m);
  }

  MetricsFile withSidecar() throws IOException {
    MetricsFile m = new MetricsFile(jsonl(), bin(), 2_000_000, 100, PointBudget.unlimited());
    m.poll();
    return m;
  }

  @Test
  void aReaderOfTheSidecarSeesExactlyWhatAReaderOfTheJsonSees() throws IOException {
    try (MetricsLog log = open()) {
      log(log, 0, 20_000);
    }
    assertThat(Files.size(bin())).isLessThan(Files.size(jsonl()) / 2);
    MetricsFile m = withSidecar();
    assertThat(m.jsonlBytesRead()).as("nothing left to parse").isZero();
    Map<String, Object> expected = fromJsonl();
    assertThat(seen(m)).isEqualTo(expected);
    assertThat(expected.keySet())
        .containsExactly("loss", "lr", "steps_per_s", "val_loss", "last_step", "over_limit");
  }

  @Test
  void aResumedRunAndAnOldRunWithoutSidecarReadTheSame() throws IOException {
    // An old run: metrics.jsonl without a sidecar. A new session adds one from where it stands.
    try (MetricsLog log =
        MetricsLog.open(jsonl(), Durability.OS_BUFFERED, OverflowPolicy.BLOCK, 1024, sink, clock)) {
      log(log, 0, 3_000);
    }
    assertThat(bin()).doesNotExist();
    assertThat(withSidecarOff()).isEqualTo(fromJsonl());
    long before = Files.size(jsonl());
    // Resumed from a checkpoint at step 2,000: steps 2,000 on are logged again and replace.
    try (MetricsLog log = open()) {
      log(log, 2_000, 6_000);
    }
    try (MetricsLog log = open()) {
      log(log, 6_000, 9_000);
    }
    MetricsFile m = withSidecar();
    assertThat(m.jsonlBytesRead()).as("only the part before the sidecar").isEqualTo(before);
    assertThat(seen(m)).isEqualTo(fromJsonl());
    assertThat(m.series("loss").size()).isEqualTo(9_000);
  }

  private Map<String, Object> withSidecarOff() throws IOException {
    return seen(withSidecar()); // no file at bin(): the reader parses the JSON
  }

  @Test
  void aTornOrDamagedSidecarIsUsedOnlyUpToItsLastWholeBlockAndNeverServedWrong()
      throws IOException {
    try (MetricsLog log = open()) {
      for (int part = 0; part < 6; part++) {
        log(log, part * 5_000, (part + 1) * 5_000);
        log.flush(); // a block per part, besides the ones the writer makes itself
      }
    }
    Map<String, Object> expected = fromJsonl();
    byte[] whole = Files.readAllBytes(bin());
    Random random = new Random(17);
    for (int i = 0; i < 40; i++) {
      int cut = random.nextInt(whole.length + 1);
      Files.write(bin(), Arrays.copyOf(whole, cut));
      MetricsFile m = withSidecar();
      assertThat(seen(m)).as("cut at %d", cut).isEqualTo(expected);
      assertThat(m.jsonlBytesRead()).isLessThanOrEqualTo(Files.size(jsonl()));
    }
    for (int i = 0; i < 40; i++) {
      byte[] damaged = whole.clone();
      int at = random.nextInt(damaged.length);
      damaged[at] ^= (byte) (1 + random.nextInt(255));
      Files.write(bin(), damaged);
      assertThat(seen(withSidecar())).as("byte %d flipped", at).isEqualTo(expected);
    }
    byte[] garbage = new byte[whole.length];
    random.nextBytes(garbage);
    System.arraycopy(whole, 0, garbage, 0, 8); // even behind a valid header
    Files.write(bin(), garbage);
    assertThat(seen(withSidecar())).isEqualTo(expected);
    Files.write(bin(), whole);
    Files.write(bin(), garbage, StandardOpenOption.APPEND);
    MetricsFile m = withSidecar();
    assertThat(seen(m)).isEqualTo(expected);
    assertThat(m.jsonlBytesRead()).as("the whole blocks before the garbage are used").isZero();
  }

  @Test
  void aSidecarThatNoLongerMatchesTheJsonIsNotUsed() throws IOException {
    try (MetricsLog log = open()) {
      log(log, 0, 5_000);
    }
    byte[] sidecar = Files.readAllBytes(bin());
    // metrics.jsonl cut back (a power cut lost its end) and written on by a job without a sidecar,
    // past where the sidecar's blocks claim to end.
    List<String> lines = Files.readAllLines(jsonl());
    Files.write(jsonl(), lines.subList(0, 2_500));
    try (MetricsLog log =
        MetricsLog.open(jsonl(), Durability.OS_BUFFERED, OverflowPolicy.BLOCK, 1024, sink, clock)) {
      for (int s = 2_500; s < 20_000; s++) {
        log.begin(s).put("loss", -s).put("lr", 2e-3).commit();
      }
    }
    assertThat(Files.size(jsonl())).isGreaterThan(lines.size() * 100L);
    Files.write(bin(), sidecar);
    MetricsFile m = withSidecar();
    assertThat(seen(m)).isEqualTo(fromJsonl());
    assertThat(m.series("loss").last()).containsExactly(19_999, -19_999);
  }

  @Test
  void aSidecarOfAnotherFileOfTheSameLengthIsNotUsed() throws IOException {
    try (MetricsLog log = open()) {
      log(log, 0, 5_000);
    }
    Files.write(jsonl(), Files.readString(jsonl()).replace("\"loss\"", "\"LOSS\"").getBytes());
    MetricsFile m = withSidecar();
    assertThat(seen(m)).isEqualTo(fromJsonl()).containsKey("LOSS").doesNotContainKey("loss");
  }

  @Test
  void aNewSessionCutsATornSidecarAndGoesOnFromTheJson() throws IOException {
    try (MetricsLog log = open()) {
      log(log, 0, 10_000);
    }
    // kill -9 between a metrics.jsonl write and the end of a block write.
    try (FileChannel ch = FileChannel.open(bin(), StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 11);
    }
    try (MetricsLog log = open()) {
      log(log, 10_000, 12_000);
    }
    MetricsFile m = withSidecar();
    assertThat(seen(m)).isEqualTo(fromJsonl());
    assertThat(m.series("loss").size()).isEqualTo(12_000);
    assertThat(m.jsonlBytesRead())
        .as("the torn block's lines are parsed, the new session's come from the sidecar")
        .isGreaterThan(0)
        .isLessThan(Files.size(jsonl()) / 2);
  }

  @Test
  void aReaderWhileTheJobLogsSeesOnlyWholeRecordsAndEndsEqual() throws Exception {
    AtomicBoolean done = new AtomicBoolean();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    Thread job =
        new Thread(
            () -> {
              try (MetricsLog log = open()) {
                for (int s = 0; s < 60_000; s++) {
                  log.begin(s).put("loss", s * 0.5).put("lr", 1e-3).commit();
                  if (s % 10_000 == 0) {
                    log.flush(); // a block now, not only when 4,096 records are pending
                  }
                }
              } catch (IOException | RuntimeException e) {
                failures.add(e);
              } finally {
                done.set(true);
              }
            });
    job.start();
    int reads = 0;
    List<Integer> sizes = new ArrayList<>();
    while (!done.get() || reads < 3) {
      MetricsFile m = withSidecar(); // a first request, each time from a fresh reader
      Series loss = m.series("loss");
      if (loss != null) {
        double[][] p = loss.points(Double.NEGATIVE_INFINITY);
        for (int i = 0; i < p[0].length; i++) {
          if (p[0][i] != i || p[1][i] != i * 0.5) {
            throw new AssertionError("point " + i + " is (" + p[0][i] + ", " + p[1][i] + ")");
          }
        }
        sizes.add(p[0].length);
      }
      reads++;
    }
    job.join();
    assertThat(failures).isEmpty();
    assertThat(sizes).isSorted();
    MetricsFile m = withSidecar();
    assertThat(seen(m)).isEqualTo(fromJsonl());
    assertThat(m.series("loss").size()).isEqualTo(60_000);
  }

  @Test
  void aSidecarThatCannotBeWrittenCostsTheJobNothingButAWarning() throws IOException {
    Files.createDirectories(bin()); // a folder where the file should be
    try (MetricsLog log = open()) {
      log(log, 0, 2_000);
    }
    assertThat(events).anyMatch(e -> e.startsWith("warning metrics.bin could not be opened"));
    assertThat(Files.readAllLines(jsonl())).hasSize(2_000);
    assertThat(fromJsonl()).containsKey("loss");
  }

  @Test
  void theLimitsOfTheReaderHoldWhenReadingTheSidecar() throws IOException {
    try (MetricsLog log = open()) {
      for (int s = 0; s < 3_000; s++) {
        MetricsLog.Record r = log.begin(s).put("loss", s);
        r.put("m" + (s % 150), s); // 151 names in all, the reader keeps 100
        r.commit();
      }
    }
    PointBudget budget = PointBudget.of(4_096);
    MetricsFile side = new MetricsFile(jsonl(), bin(), 2_000_000, 100, budget);
    side.poll();
    MetricsFile json = new MetricsFile(jsonl(), null, 2_000_000, 100, PointBudget.of(4_096));
    json.poll();
    assertThat(side.metrics()).isEqualTo(json.metrics()).hasSize(100);
    assertThat(side.overLimit()).isTrue();
    assertThat(budget.held()).isLessThanOrEqualTo(budget.limit() + 100L * Series.INITIAL_CAPACITY);
    side.close();
    assertThat(budget.held()).isZero();
  }
}
