package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.testkit.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's real training run saves when its step and time triggers say, with the right step. */
class DemoTriggersTest {
  @TempDir Path runs;

  @Test
  void stepAndTimeTriggersSaveTheRightStepsDuringRealTraining() throws Exception {
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    DemoSettings s =
        new DemoSettings(
            240, 3, 64, 32, 0.003f, 1, 1000, 40, Duration.ofSeconds(25), DemoSettings.TRAIN_SIZE);
    // Every training step "takes" one second of the run's clock.
    DemoJob.Result r =
        new DemoJob(s, runs, "triggers")
            .clock(clock)
            // Deferral of a save behind a slow one is CheckpointManagerTest's; here every save
            // is written before the next step, so the steps the triggers pick are exact.
            .asyncSaves(false)
            .afterStep((step, weights) -> clock.advance(Duration.ofSeconds(1)))
            .run();
    assertThat(r.endStep()).isEqualTo(240);

    ObjectMapper json = new ObjectMapper();
    List<JsonNode> saves = new ArrayList<>();
    for (String line : Files.readAllLines(r.runDir().resolve("events.jsonl"))) {
      JsonNode e = json.readTree(line);
      if (e.path("type").asText().equals("checkpoint_saved")) {
        saves.add(e);
      }
    }
    List<Long> stepSaves = new ArrayList<>();
    int timeSaves = 0;
    long previous = 0;
    for (JsonNode e : saves) {
      long step = e.get("step").asLong();
      assertThat(e.get("path").asText()).endsWith("step-" + step);
      List<String> reasons = new ArrayList<>();
      e.get("reasons").forEach(n -> reasons.add(n.asText()));
      if (reasons.contains("steps")) {
        stepSaves.add(step);
        assertThat(step % 40).isZero();
      }
      if (reasons.contains("time")) {
        timeSaves++;
        // Neither early nor late: each step "takes" one second and no save is ever in flight.
        assertThat(step - previous)
            .as("a time save %d s after the last", step - previous)
            .isEqualTo(25L);
      }
      // The time trigger bounds the work at risk.
      assertThat(step - previous).isLessThanOrEqualTo(40);
      previous = step;
    }
    assertThat(stepSaves).containsExactly(40L, 80L, 120L, 160L, 200L, 240L);
    assertThat(timeSaves).isGreaterThanOrEqualTo(4);

    // What the newest checkpoint holds is the state after its step: the data cursor says so.
    Path newest = r.finalCheckpoint().orElseThrow().folder();
    try (LoadedCheckpoint c = LoadedCheckpoint.open(newest, Verification.FULL)) {
      assertThat(c.step()).isEqualTo(240);
      assertThat(c.json("state").path("components").path("data").path("position").asLong())
          .isEqualTo(240L * 64 % DemoSettings.TRAIN_SIZE);
      assertThat(c.parts()).contains("model", "optimizer", "state");
    }
  }
}
