package dev.cairn.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.JsonLines;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.TensorMap;
import dev.cairn.testkit.MutableClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunTest {
  @TempDir Path runs;
  final ObjectMapper json = new ObjectMapper();

  static RunOptions options(String name, Clock clock) {
    return RunOptions.named(name)
        .config(Map.of("lr", 0.1, "layers", List.of(64, 32)))
        .totalSteps(100)
        .clock(clock)
        .progressInterval(Duration.ofHours(1));
  }

  @Test
  void aRunFolderHasTheDocumentedFiles() throws IOException {
    try (Run run = Cairn.open(runs, options("mlp", Clock.systemUTC()))) {
      CheckpointManager ckpt =
          run.checkpoints(CheckpointPolicy.builder().everySteps(5).every(null).build());
      TensorMap model = new TensorMap("model").put("w", new float[4]);
      ckpt.restoreLatest(model);
      for (long s = 0; s < 10; s++) {
        run.log(s, Map.of("loss", 1.0 / (s + 1), "lr", 0.1));
        ckpt.onStep(s, Map.of("loss", 1.0 / (s + 1)));
      }
      ckpt.saveFinal();
      run.finish(Map.of("val_accuracy", 0.9));
    }
    Path dir = runs.resolve("mlp");
    for (String f :
        List.of(
            "run.json",
            "sessions.jsonl",
            "metrics.jsonl",
            "events.jsonl",
            "progress.json",
            "results.json",
            "training.log",
            "checkpoints/step-10/manifest.json")) {
      assertThat(dir.resolve(f)).as(f).exists();
    }
    JsonNode run = json.readTree(dir.resolve("run.json").toFile());
    assertThat(run.path("config").path("lr").asDouble()).isEqualTo(0.1);
    assertThat(run.path("config_fingerprint").asText()).startsWith("sha256:");
    for (String k :
        List.of("host", "os", "jvm", "cpu", "memory", "gpus", "cairn_version", "command", "git")) {
      assertThat(run.has(k)).as(k).isTrue();
    }
    List<ObjectNode> metrics = JsonLines.read(dir.resolve("metrics.jsonl")).records();
    assertThat(metrics).hasSize(10);
    assertThat(metrics.get(9).path("step").asLong()).isEqualTo(9);
    assertThat(metrics.get(9).path("loss").asDouble()).isEqualTo(0.1);
    JsonNode results = json.readTree(dir.resolve("results.json").toFile());
    assertThat(results.path("total_steps").asLong()).isEqualTo(10);
    assertThat(results.path("final_metrics").path("val_accuracy").asDouble()).isEqualTo(0.9);
    assertThat(results.path("best").path("metric").asText()).isEqualTo("loss");
    assertThat(results.path("best").path("step").asLong()).isEqualTo(9);
    assertThat(results.path("last_checkpoint").asText()).endsWith("step-10");
    List<ObjectNode> sessions = JsonLines.read(dir.resolve("sessions.jsonl")).records();
    assertThat(sessions).extracting(s -> s.path("type").asText()).containsExactly("start", "end");
    assertThat(sessions.get(1).path("reason").asText()).isEqualTo("finished");
    assertThat(Files.readString(dir.resolve("training.log"))).contains("checkpoint_saved step 5");
  }

  @Test
  void aChangedConfigIsRefusedWithADiffUnlessAllowed() throws IOException {
    Cairn.open(runs, options("r", Clock.systemUTC())).close();
    byte[] sessionsBefore = Files.readAllBytes(runs.resolve("r/sessions.jsonl"));
    RunOptions changed =
        options("r", Clock.systemUTC())
            .config(Map.of("lr", 0.2, "layers", List.of(64, 32), "dropout", 0.1));
    assertThatThrownBy(() -> Cairn.open(runs, changed))
        .isInstanceOf(ConfigChangedException.class)
        .hasMessageContaining("lr: 0.1 -> 0.2")
        .hasMessageContaining("dropout: added 0.1");
    assertThat(Files.readAllBytes(runs.resolve("r/sessions.jsonl"))).isEqualTo(sessionsBefore);
    // Same config with keys in another order is the same config.
    Cairn.open(
            runs,
            options("r", Clock.systemUTC()).config(Map.of("layers", List.of(64, 32), "lr", 0.1)))
        .close();
    try (Run run = Cairn.open(runs, changed.allowConfigChange(true))) {
      assertThat(run.session()).isEqualTo(3);
    }
    assertThat(Files.readString(runs.resolve("r/events.jsonl")))
        .contains("config_changed")
        .contains("lr: 0.1 -> 0.2");
  }

  @Test
  void sessionsRecordCrashesPausesAndActiveTime() throws IOException {
    MutableClock clock = new MutableClock(Instant.parse("2026-11-26T00:00:00Z"));
    try (Run run = Cairn.open(runs, options("s", clock))) {
      clock.advance(Duration.ofMinutes(10));
      run.log(0, Map.of("loss", 1.0));
    }
    // A second session that "crashed": a start line, a heartbeat, no end.
    clock.advance(Duration.ofMinutes(5));
    Run crashed = Cairn.open(runs, options("s", clock));
    clock.advance(Duration.ofMinutes(20));
    ((DefaultRun) crashed).tickForTest();
    ObjectNode hb = (ObjectNode) json.readTree(runs.resolve("s/progress.json").toFile());
    // Forget the session end, as kill -9 would: restore sessions.jsonl without the end line.
    crashed.close();
    List<String> lines = Files.readAllLines(runs.resolve("s/sessions.jsonl"));
    Files.write(runs.resolve("s/sessions.jsonl"), lines.subList(0, lines.size() - 1));
    Files.writeString(runs.resolve("s/progress.json"), hb.toString());
    clock.advance(Duration.ofHours(2));
    try (Run run = Cairn.open(runs, options("s", clock))) {
      assertThat(run.session()).isEqualTo(3);
    }
    List<ObjectNode> s = JsonLines.read(runs.resolve("s/sessions.jsonl")).records();
    ObjectNode third = s.get(s.size() - 2);
    assertThat(third.path("session").asInt()).isEqualTo(3);
    assertThat(third.path("previous").asText()).isEqualTo("crashed");
    assertThat(third.path("paused_seconds").asDouble()).isEqualTo(7200.0);
    ObjectNode end = s.get(s.size() - 1);
    // 10 minutes in session 1, 20 in session 2 (up to its last heartbeat), 0 in session 3.
    assertThat(end.path("active_seconds").asDouble()).isEqualTo(1800.0);
  }

  @Test
  void statusSaysFinishedFailedOrStoppedFromTheSessionEnd() throws IOException {
    try (Run run = Cairn.open(runs, options("ok", Clock.systemUTC()))) {
      run.finish(Map.of());
    }
    try (Run run = Cairn.open(runs, options("bad", Clock.systemUTC()))) {
      run.fail(new IllegalStateException("diverged"));
    }
    Cairn.open(runs, options("stopped", Clock.systemUTC())).close();
    assertThat(RunStatus.of(runs.resolve("ok"), Clock.systemUTC()).status()).isEqualTo("finished");
    assertThat(RunStatus.of(runs.resolve("bad"), Clock.systemUTC()).status()).isEqualTo("failed");
    assertThat(RunStatus.of(runs.resolve("stopped"), Clock.systemUTC()).status())
        .isEqualTo("stopped");
    assertThat(Files.readString(runs.resolve("bad/events.jsonl")))
        .contains("run failed")
        .contains("diverged");
  }

  @Test
  void badRunArgumentsAreRefusedWithAClearMessage() throws IOException {
    assertThatThrownBy(() -> RunOptions.named("../etc"))
        .hasMessageContaining("run name '../etc' is not allowed");
    assertThatThrownBy(() -> RunOptions.named("a").totalSteps(-1))
        .hasMessageContaining("totalSteps");
    Path file = Files.writeString(runs.resolve("file"), "x");
    assertThatThrownBy(() -> Cairn.open(file, RunOptions.named("a")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is a file");
  }

  @Test
  void aSessionEndsWithTheStateItWasGiven() throws IOException {
    try (Run run = Cairn.open(runs, options("asked", Clock.systemUTC()))) {
      run.endAs(SessionEnd.STOPPED, "stop requested from the dashboard");
    }
    List<ObjectNode> s = JsonLines.read(runs.resolve("asked/sessions.jsonl")).records();
    ObjectNode end = s.get(s.size() - 1);
    assertThat(end.path("reason").asText()).isEqualTo("stopped");
    assertThat(end.path("detail").asText()).isEqualTo("stop requested from the dashboard");
    assertThat(RunStatus.of(runs.resolve("asked"), Clock.systemUTC()).state())
        .isEqualTo(RunStatus.State.STOPPED);
    try (Run run = Cairn.open(runs, options("done", Clock.systemUTC()))) {
      run.finish(Map.of());
      run.endAs(SessionEnd.FAILED, "a failure after the results does not undo them");
    }
    assertThat(RunStatus.of(runs.resolve("done"), Clock.systemUTC()).state())
        .isEqualTo(RunStatus.State.FINISHED);
  }

  @Test
  void progressNamesACheckpointAsSoonAsItCommits() throws IOException {
    // The progress timer ticks once an hour here: only the commit can update progress.json.
    try (Run run = Cairn.open(runs, options("p", Clock.systemUTC()))) {
      CheckpointManager m =
          run.checkpoints(
              CheckpointPolicy.builder().everySteps(5).every(null).async(false).build());
      m.restoreLatest(new TensorMap("model").put("w", new float[4]));
      for (int s = 0; s < 5; s++) {
        run.log(s, Map.of("loss", 1.0));
        m.onStep(s, Map.of("loss", 1.0));
      }
      JsonNode p = json.readTree(runs.resolve("p/progress.json").toFile());
      assertThat(p.path("last_checkpoint").path("step").asLong()).isEqualTo(5);
      assertThat(p.path("step").asLong()).isEqualTo(5);
    }
  }

  @Test
  void halfWrittenReplacementsLeftByACrashAreRemovedAtOpen() throws IOException {
    Cairn.open(runs, options("left", Clock.systemUTC())).close();
    Path tmp = Files.writeString(runs.resolve("left/.progress.json.tmp-1234abcd"), "{\"ste");
    Path tmp2 = Files.writeString(runs.resolve("left/.run.json.tmp-99"), "");
    try (Run run = Cairn.open(runs, options("left", Clock.systemUTC()))) {
      assertThat(tmp).doesNotExist();
      assertThat(tmp2).doesNotExist();
    }
    assertThat(Files.readString(runs.resolve("left/events.jsonl")))
        .contains("leftover_removed")
        .contains(".progress.json.tmp-1234abcd");
  }
}
