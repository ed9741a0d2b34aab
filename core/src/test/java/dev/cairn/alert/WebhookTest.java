package dev.cairn.alert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.events.JsonLines;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunOptions;
import dev.cairn.testkit.MutableClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WebhookTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  final List<String> events = Collections.synchronizedList(new ArrayList<>());
  final Events sink = (type, step, message, fields) -> events.add(type.wireName() + " " + message);
  final Webhook.Settings quick = new Webhook.Settings(3, Duration.ZERO, Duration.ofSeconds(10), 2);

  @Test
  void postsSlackJsonAndRetriesServerErrors() throws Exception {
    try (Receiver r = new Receiver()) {
      r.status = n -> n == 1 ? 503 : 200;
      Webhook w = Webhook.start(r.url(), quick, sink);
      assertThat(w.send("run demo finished at step 3000")).isTrue();
      r.await(2);
      w.close();
      assertThat(w.delivered()).isEqualTo(1);
      assertThat(r.requests).hasSize(2);
      for (Receiver.Request q : r.requests) {
        assertThat(q.method()).isEqualTo("POST");
        assertThat(q.path()).isEqualTo("/services/T0001/B0002/s3cr3tT0k3n");
        assertThat(q.contentType()).isEqualTo("application/json");
        assertThat(JSON.readTree(q.body()))
            .isEqualTo(JSON.createObjectNode().put("text", "run demo finished at step 3000"));
      }
      assertThat(events).isEmpty();
    }
  }

  @Test
  void givesUpAfterBoundedAttemptsWithoutShowingTheSecret() throws Exception {
    try (Receiver r = new Receiver()) {
      r.status = n -> 500;
      Webhook w = Webhook.start(r.url(), quick, sink);
      w.send("a");
      r.await(3);
      w.close();
      assertThat(r.requests).hasSize(3);
      assertThat(w.failed()).isEqualTo(1);
      assertThat(events).hasSize(1);
      assertThat(events.get(0))
          .startsWith("warning alert not delivered to http://127.0.0.1:")
          .contains("/…")
          .contains("HTTP 500")
          .doesNotContain("s3cr3t")
          .doesNotContain("services");
      assertThat(w.redacted()).doesNotContain("s3cr3t");
    }
  }

  @Test
  void aRefusedAlertIsNotRetried() throws Exception {
    try (Receiver r = new Receiver()) {
      r.status = n -> 404;
      Webhook w = Webhook.start(r.url(), quick, sink);
      w.send("a");
      w.send("b");
      r.await(2);
      w.close();
      assertThat(r.requests)
          .extracting(q -> JSON.readTree(q.body()).path("text").asText())
          .containsExactly("a", "b");
      assertThat(w.failed()).isEqualTo(2);
    }
  }

  @Test
  void aFullQueueDropsTheAlertAtOnceAndSaysSo() throws Exception {
    try (Receiver r = new Receiver()) {
      r.gate.drainPermits(); // the server holds the first request: the sender is busy
      Webhook w = Webhook.start(r.url(), quick, sink);
      w.send("1");
      r.await(1);
      assertThat(w.send("2")).isTrue();
      assertThat(w.send("3")).isTrue(); // the queue holds 2
      assertThat(w.send("4")).isFalse(); // returns at once, not when the server answers
      assertThat(events).hasSize(1);
      assertThat(events.get(0))
          .startsWith("queue_overflow alert dropped")
          .endsWith(": 4")
          .doesNotContain("s3cr3t");
      r.gate.release(Integer.MAX_VALUE);
      r.await(3);
      w.close();
      assertThat(r.requests)
          .extracting(q -> JSON.readTree(q.body()).path("text").asText())
          .containsExactly("1", "2", "3");
    }
  }

  @Test
  void badUrlsAreRefusedWithoutEchoingThem() {
    assertThatThrownBy(() -> Webhook.parse("ftp://example.com/secret-token"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("http:// or https://")
        .hasMessageNotContaining("secret-token");
    assertThatThrownBy(() -> Webhook.parse("not a url at all"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--notify");
    assertThatThrownBy(() -> RunOptions.named("x").notify("mailto:me@example.com"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(Webhook.redact(Webhook.parse("https://hooks.slack.com/services/T/B/XYZ?x=1")))
        .isEqualTo("https://hooks.slack.com/…");
  }

  @Test
  void aRunAlertsOnFailedSavesLowDiskFailureAndFinish(@TempDir Path runs) throws Exception {
    try (Receiver r = new Receiver()) {
      try (Run run =
          Cairn.open(runs, RunOptions.named("r").notify(r.url()).systemMetrics(Duration.ZERO))) {
        run.log(0, Map.of("loss", 1.0));
        run.events().emit(EventType.SAVE_REQUESTED, 1, "not an alert");
        run.events().emit(EventType.CHECKPOINT_FAILED, 1, "saving step-1 failed: disk full");
        run.events().emit(EventType.DISK_SPACE_LOW, 1, "disk space low: 200 MiB free in /x");
        run.fail(new IllegalStateException("boom"));
        run.finish(Map.of());
      }
      // close() waited for the queue: everything arrived before it returned
      assertThat(r.requests)
          .extracting(q -> JSON.readTree(q.body()).path("text").asText())
          .containsExactly(
              "Cairn: run r: saving step-1 failed: disk full",
              "Cairn: run r: disk space low: 200 MiB free in /x",
              "Cairn: run r failed at step 1: java.lang.IllegalStateException: boom",
              "Cairn: run r finished at step 1");
    }
    String all =
        Files.readString(new RunFiles(runs.resolve("r")).events(), StandardCharsets.UTF_8)
            + Files.readString(new RunFiles(runs.resolve("r")).runJson(), StandardCharsets.UTF_8);
    assertThat(all).as("the webhook's secret is never written").doesNotContain("s3cr3t");
  }

  @Test
  void theWatcherReportsARunThatDiesOnceAndOnlyWhenItChanges(@TempDir Path runs) throws Exception {
    try (Run run = Cairn.open(runs, RunOptions.named("job").systemMetrics(Duration.ZERO))) {
      run.log(0, Map.of("loss", 1.0));
    }
    RunFiles f = new RunFiles(runs.resolve("job"));
    // A job still running (its session has no end yet; its process, this JVM, is alive) ...
    List<String> sessions = new ArrayList<>(Files.readAllLines(f.sessions()));
    sessions.removeIf(l -> l.contains("\"type\":\"end\""));
    Files.write(f.sessions(), sessions);
    ObjectNode progress = (ObjectNode) JSON.readTree(f.progress().toFile());
    MutableClock clock = new MutableClock(Instant.parse(progress.path("heartbeat").asText()));
    StatusWatcher watcher = new StatusWatcher(runs, clock);
    assertThat(watcher.poll()).as("running: heartbeat fresh").isEmpty();

    // ... is killed with -9: its process is gone.
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    List<String> killed = new ArrayList<>();
    for (String line : sessions) {
      ObjectNode o = (ObjectNode) JSON.readTree(line);
      if (o.has("pid")) {
        o.put("pid", gone.pid());
      }
      killed.add(JSON.writeValueAsString(o));
    }
    Files.write(f.sessions(), killed);
    progress.put("pid", gone.pid());
    Files.writeString(f.progress(), JSON.writeValueAsString(progress));
    clock.advance(Duration.ofSeconds(45));
    List<String> alerts = watcher.poll();
    assertThat(alerts).hasSize(1);
    assertThat(alerts.get(0))
        .startsWith("Cairn: run job is dead")
        .contains("step 1")
        .contains("last heartbeat 45 s ago");
    clock.advance(Duration.ofSeconds(45));
    assertThat(watcher.poll()).as("still dead: said once").isEmpty();

    StatusWatcher late = new StatusWatcher(runs, clock);
    assertThat(late.poll()).as("dead before watching started: not news").isEmpty();
    assertThat(JsonLines.read(f.events()).records()).isNotEmpty();
  }
}
