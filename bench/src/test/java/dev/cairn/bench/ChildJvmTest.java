package dev.cairn.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.JsonLines;
import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real training process: what `cairn runs` sees, and what SIGTERM does. */
class ChildJvmTest {
  @TempDir Path runs;

  private Process start(String name, long steps) throws IOException {
    return new ProcessBuilder(
            "java",
            "-cp",
            System.getProperty("java.class.path"),
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            DeterministicJob.class.getName(),
            runs.toString(),
            name,
            String.valueOf(steps),
            "50",
            "100000")
        .redirectErrorStream(true)
        .redirectOutput(runs.resolve(name + ".log").toFile())
        .start();
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
      LockSupport.parkNanos(20_000_000);
    }
  }

  private long step(String name) {
    try {
      return RunStatus.of(runs.resolve(name), Clock.systemUTC()).step();
    } catch (IOException | IllegalArgumentException e) {
      return -1;
    }
  }

  private String status(String name) {
    try {
      return RunStatus.of(runs.resolve(name), Clock.systemUTC()).status();
    } catch (IOException | IllegalArgumentException e) {
      return "none";
    }
  }

  @Test
  void aLiveRunIsRunningAndAKilledOneIsDead() throws Exception {
    Process p = start("live", 1_000_000);
    try {
      await(
          "the run to report progress", () -> status("live").equals("running") && step("live") > 0);
      p.destroyForcibly().waitFor();
      // The heartbeat is still fresh, but on this host a gone process is dead at once.
      RunStatus now = RunStatus.of(runs.resolve("live"), Clock.systemUTC());
      assertThat(now.heartbeatAgeSeconds()).isLessThan(RunStatus.HEARTBEAT_TIMEOUT.toSeconds());
      assertThat(now.state()).isEqualTo(RunStatus.State.DEAD);
      assertThat(now.step()).isPositive();
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void aFrozenProcessIsStalled() throws Exception {
    Process p = start("frozen", 1_000_000);
    try {
      await("the run to report progress", () -> status("frozen").equals("running"));
      new ProcessBuilder("kill", "-STOP", String.valueOf(p.pid())).start().waitFor();
      RunStatus later =
          RunStatus.of(
              runs.resolve("frozen"),
              Clock.offset(Clock.systemUTC(), RunStatus.HEARTBEAT_TIMEOUT.plusSeconds(5)));
      assertThat(later.status()).as("alive but not beating").isEqualTo("stalled");
    } finally {
      new ProcessBuilder("kill", "-CONT", String.valueOf(p.pid())).start().waitFor();
      p.destroyForcibly().waitFor();
    }
  }

  @Test
  void sigtermMakesALastSaveAtTheCurrentStep() throws Exception {
    Process p = start("term", 1_000_000);
    await("a first checkpoint", () -> Files.exists(runs.resolve("term/checkpoints/step-50")));
    p.destroy();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    List<ObjectNode> events = JsonLines.read(runs.resolve("term/events.jsonl")).records();
    ObjectNode last =
        events.stream()
            .filter(e -> e.path("type").asText().equals("checkpoint_saved"))
            .reduce((a, b) -> b)
            .orElseThrow();
    assertThat(last.path("reasons").toString()).contains("shutdown");
    assertThat(last.path("step").asLong() % 50).as("not a step-trigger save").isNotZero();
    assertThat(events)
        .anyMatch(
            e ->
                e.path("type").asText().equals("shutdown")
                    && e.path("message").asText().contains("after a last save"));
    // The session ended as stopped, and progress names the last step and its checkpoint.
    List<ObjectNode> sessions = JsonLines.read(runs.resolve("term/sessions.jsonl")).records();
    ObjectNode end = sessions.get(sessions.size() - 1);
    assertThat(end.path("type").asText()).isEqualTo("end");
    assertThat(end.path("reason").asText()).isEqualTo("stopped");
    assertThat(end.path("step").asLong()).isGreaterThanOrEqualTo(last.path("step").asLong());
    var progress =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(runs.resolve("term/progress.json").toFile());
    assertThat(progress.path("last_checkpoint").path("step").asLong())
        .isEqualTo(last.path("step").asLong());
    assertThat(progress.path("step").asLong()).isGreaterThanOrEqualTo(last.path("step").asLong());
    assertThat(RunStatus.of(runs.resolve("term"), Clock.systemUTC()).state())
        .isEqualTo(RunStatus.State.STOPPED);
  }
}
