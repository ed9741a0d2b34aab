package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.control.ControlFolder;
import dev.cairn.control.SaveRequest;
import dev.cairn.events.JsonLines;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stop request (what {@code cairn stop} and the dashboard's Stop file) ends the demo after a
 * checkpoint, as a stopped session; the next start resumes there and ends byte-identical to a run
 * never stopped.
 */
class DemoStopTest {
  @TempDir Path runs;

  @Test
  void aStoppedDemoResumesAndEndsIdenticalToAnUninterruptedOne() throws Exception {
    DemoSettings s =
        new DemoSettings(400, 7, 64, 32, 0.003f, 1, 100, 1000, null, DemoSettings.TRAIN_SIZE);
    DemoJob.Result straight = new DemoJob(s, runs, "straight").plots(null).run();
    assertThat(straight.stopped()).isFalse();

    Path dir = runs.resolve("stopped");
    AtomicReference<SaveRequest> request = new AtomicReference<>();
    DemoJob.Result first =
        new DemoJob(s, runs, "stopped")
            .plots(null)
            .afterStep(
                (step, weights) -> {
                  if (step == 150) {
                    request.set(stopAndAwaitPickup(dir));
                  }
                })
            .run();
    assertThat(first.stopped()).isTrue();
    long at = first.endStep();
    // After the request, at the first step the manager could save: how many steps that is depends
    // on the machine's speed (the control poller and any save in flight), so only the order is
    // checked, and that the stop's own checkpoint is the one the job ended at.
    assertThat(at).isGreaterThan(150L).isLessThan(400L);
    List<com.fasterxml.jackson.databind.node.ObjectNode> sessions =
        JsonLines.read(new RunFiles(dir).sessions()).records();
    assertThat(sessions.get(sessions.size() - 1).path("reason").asText()).isEqualTo("stopped");
    assertThat(RunStatus.of(dir, Clock.systemUTC()).status()).isEqualTo("stopped");
    JsonNode answer =
        JsonLines.read(new RunFiles(dir).events()).records().stream()
            .filter(e -> request.get().id().equals(e.path("request_id").asText()))
            .filter(e -> e.path("type").asText().equals("save_request_done"))
            .findFirst()
            .orElseThrow();
    assertThat(answer.path("path").asText()).endsWith("step-" + answer.path("step").asLong());
    assertThat(new RunFiles(dir).results()).as("stopped, not finished").doesNotExist();

    DemoJob.Result second = new DemoJob(s, runs, "stopped").plots(null).run();
    assertThat(second.stopped()).isFalse();
    assertThat(second.startStep()).isEqualTo(at);
    assertThat(second.endStep()).isEqualTo(400);
    Path a = runs.resolve("straight/checkpoints/step-400");
    Path b = dir.resolve("checkpoints/step-400");
    DemoRuns.assertSameShare(a, b, 0);
  }

  /** Files a stop request and waits, on the training thread, until the job's poller has it. */
  private static SaveRequest stopAndAwaitPickup(Path dir) {
    try {
      SaveRequest r = new ControlFolder(new RunFiles(dir).control()).requestStop();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (JsonLines.read(new RunFiles(dir).events()).records().stream()
          .noneMatch(e -> e.path("type").asText().equals("stop_requested"))) {
        assertThat(System.nanoTime()).as("the job saw the stop request").isLessThan(deadline);
        LockSupport.parkNanos(5_000_000);
      }
      return r;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
