package dev.cairn.run;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.JsonLines;
import dev.cairn.testkit.CrashFileSystem;
import dev.cairn.testkit.FaultHook;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power cuts at every mutating operation of a run's life (open, progress, metrics, finish, close)
 * over the crash-simulating file system: what a call reported written survives (the run folder,
 * run.json, the session's start and end records, progress.json, results.json), the run always
 * reopens, and no half-written replacement is left behind.
 */
class RunFilesCrashTest {
  static final int OUTCOMES_PER_POINT = 3;

  @TempDir Path dir;
  final ObjectMapper json = new ObjectMapper();

  private static RunOptions options() {
    return RunOptions.named("r")
        .config(Map.of("lr", 0.1))
        .totalSteps(10)
        .clock(Clock.systemUTC())
        .progressInterval(Duration.ofHours(1));
  }

  /** How far the life of a run got before the crash. */
  private enum Reached {
    NOTHING,
    OPENED,
    PROGRESS,
    FINISHED,
    CLOSED
  }

  private Reached life(Path runs) {
    Reached reached = Reached.NOTHING;
    Run run = null;
    try {
      run = Cairn.open(runs, options());
      reached = Reached.OPENED;
      for (int s = 0; s < 10; s++) {
        run.log(s, Map.of("loss", 1.0 / (s + 1)));
      }
      ((DefaultRun) run).tickForTest();
      // The progress round never throws (a failure becomes an event): probe whether the file
      // system still works, i.e. the crash point was not reached during the round.
      Files.createFile(runs.resolve("r/probe-" + System.nanoTime()));
      reached = Reached.PROGRESS;
      run.finish(Map.of());
      reached = Reached.FINISHED;
      run.close();
      reached = Reached.CLOSED;
    } catch (IOException | RuntimeException crashed) {
      if (run != null) {
        try {
          run.close();
        } catch (IOException | RuntimeException alsoCrashed) {
          // the file system is dead after the crash point
        }
      }
    }
    return reached;
  }

  @Test
  void aPowerCutAnywhereKeepsWhatTheRunReportedWritten() throws IOException {
    Path count = dir.resolve("count");
    CrashFileSystem counting = CrashFileSystem.wrap(count);
    assertThat(life(counting.root().resolve("runs"))).isEqualTo(Reached.CLOSED);
    long ops = counting.operationCount();
    assertThat(ops).isGreaterThan(20);
    int run = 0;
    for (long point = 0; point <= ops + 1; point++) {
      for (int outcome = 0; outcome < OUTCOMES_PER_POINT; outcome++) {
        Path real = dir.resolve("run" + run++);
        CrashFileSystem fs = CrashFileSystem.wrap(real);
        fs.setFaultHook(FaultHook.crashAt(point));
        Reached reached = life(fs.root().resolve("runs"));
        fs.crash(point * 100 + outcome);
        check(real.resolve("runs"), reached, "crash at op " + point + ", outcome " + outcome);
      }
    }
  }

  private void check(Path runs, Reached reached, String where) throws IOException {
    Path r = runs.resolve("r");
    if (reached.compareTo(Reached.OPENED) >= 0) {
      assertThat(r.resolve("run.json")).as(where + ": run.json").exists();
      json.readTree(r.resolve("run.json").toFile());
      List<ObjectNode> sessions = JsonLines.read(r.resolve("sessions.jsonl")).records();
      assertThat(sessions).as(where + ": the start record").isNotEmpty();
    }
    if (reached.compareTo(Reached.PROGRESS) >= 0) {
      assertThat(json.readTree(r.resolve("progress.json").toFile()).path("step").asLong())
          .as(where + ": progress.json")
          .isEqualTo(10);
    }
    if (reached.compareTo(Reached.FINISHED) >= 0) {
      assertThat(json.readTree(r.resolve("results.json").toFile()).path("total_steps").asLong())
          .as(where + ": results.json")
          .isEqualTo(10);
    }
    if (reached == Reached.CLOSED) {
      List<ObjectNode> sessions = JsonLines.read(r.resolve("sessions.jsonl")).records();
      assertThat(sessions.get(sessions.size() - 1).path("reason").asText())
          .as(where + ": the end record")
          .isEqualTo("finished");
    }
    // Whatever the crash left, the run opens again and cleans up after it.
    Files.createDirectories(runs);
    try (Run again = Cairn.open(runs, options())) {
      assertThat(again.session()).isPositive();
    }
    try (Stream<Path> s = Files.list(r)) {
      assertThat(s.map(p -> p.getFileName().toString()))
          .as(where + ": leftovers removed")
          .noneMatch(n -> n.contains(".tmp-"));
    }
    assertThat(RunStatus.of(r, Clock.systemUTC()).state())
        .as(where)
        .isIn(RunStatus.State.FINISHED, RunStatus.State.STOPPED);
  }
}
