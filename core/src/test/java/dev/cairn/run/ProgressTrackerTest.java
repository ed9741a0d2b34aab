package dev.cairn.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.testkit.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProgressTrackerTest {
  @TempDir Path dir;
  final MutableClock clock = new MutableClock(Instant.parse("2026-11-26T00:00:00Z"));

  @Test
  void etaThroughputAndActiveTimeFollowTheClock() throws Exception {
    // 600 s of earlier sessions; 10,000 steps in all; 32 samples and 4096 tokens per step.
    ProgressTracker p =
        new ProgressTracker(dir.resolve("progress.json"), clock, "r", 2, 10_000, 600);
    p.batch(32, 4096);
    p.resumedAt(1000, null);
    p.write(true);
    for (int i = 1; i <= 10; i++) {
      clock.advance(Duration.ofSeconds(10));
      p.stepDone(1000 + i * 50L);
      p.loss(1000 + i * 50L, 2.0 - i * 0.1);
    }
    p.write(true); // a timer round samples the rates
    ObjectNode o = p.snapshot();
    assertThat(o.path("step").asLong()).isEqualTo(1500);
    assertThat(o.path("percent").asDouble()).isEqualTo(15.0);
    assertThat(o.path("steps_per_second").asDouble()).isCloseTo(5.0, within(1e-9));
    assertThat(o.path("samples_per_second").asDouble()).isCloseTo(160.0, within(1e-9));
    assertThat(o.path("tokens_per_second").asDouble()).isCloseTo(20480.0, within(1e-9));
    assertThat(o.path("eta_seconds").asDouble()).isCloseTo(8500 / 5.0, within(1e-6));
    assertThat(o.path("active_seconds").asDouble()).isEqualTo(700.0);
    assertThat(o.path("loss").asDouble()).isCloseTo(1.0, within(1e-9));
    assertThat(o.path("loss_trend").path("direction").asText()).isEqualTo("improving");
    assertThat(o.path("loss_trend").path("slope_per_step").asDouble())
        .isCloseTo(-0.002, within(1e-9));
    assertThat(o.path("heartbeat").asText()).isEqualTo("2026-11-26T00:01:40Z");
  }

  @Test
  void lastCheckpointAgeAndLastEventComeFromEvents() {
    ProgressTracker p = new ProgressTracker(dir.resolve("progress.json"), clock, "r", 1, 0, 0);
    ObjectNode saved = JsonNodeFactory.instance.objectNode();
    saved.put("type", "checkpoint_saved").put("step", 40).put("path", "/x/step-40");
    saved.put("time", clock.instant().toString());
    p.event(saved);
    clock.advance(Duration.ofSeconds(90));
    ObjectNode o = p.snapshot();
    assertThat(o.path("last_checkpoint").path("step").asLong()).isEqualTo(40);
    assertThat(o.path("last_checkpoint").path("age_seconds").asDouble()).isEqualTo(90.0);
    assertThat(o.path("last_event").path("type").asText()).isEqualTo("checkpoint_saved");
    assertThat(o.has("percent")).as("no total: no percent").isFalse();
  }
}
