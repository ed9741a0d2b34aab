package dev.cairn.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.events.JsonLines;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsLogTest {
  @TempDir Path dir;
  final List<String> events = new CopyOnWriteArrayList<>();
  final Events sink = (type, step, message, fields) -> events.add(type.wireName() + " " + message);

  MetricsLog open(Durability d, OverflowPolicy o, int capacity) throws IOException {
    return MetricsLog.open(dir.resolve("metrics.jsonl"), d, o, capacity, sink, Clock.systemUTC());
  }

  @Test
  void everyRecordBecomesOneJsonLine() throws IOException {
    try (MetricsLog log = open(Durability.GROUP_COMMIT, OverflowPolicy.BLOCK, 16)) {
      for (int s = 0; s < 1000; s++) {
        log.begin(s).put("loss", s * 0.5).put("lr", 1e-3).put("odd\"key", Double.NaN).commit();
      }
      log.log(1000, Map.of("val_loss", 0.25));
    }
    JsonLines.ReadResult r = JsonLines.read(dir.resolve("metrics.jsonl"));
    assertThat(r.damagedLines()).isEmpty();
    assertThat(r.records()).hasSize(1001);
    ObjectNode last = r.records().get(999);
    assertThat(last.path("step").asLong()).isEqualTo(999);
    assertThat(last.path("loss").asDouble()).isEqualTo(499.5);
    assertThat(last.path("odd\"key").isNull()).as("NaN is written as null").isTrue();
    assertThat(last.path("time").asText()).endsWith("Z");
    assertThat(r.records().get(1000).path("val_loss").asDouble()).isEqualTo(0.25);
  }

  @Test
  void aTornLastLineIsCutOffOnReopenAndReported() throws IOException {
    try (MetricsLog log = open(Durability.EVERY_RECORD, OverflowPolicy.BLOCK, 16)) {
      log.log(0, Map.of("loss", 1.0));
      log.log(1, Map.of("loss", 0.9));
    }
    Files.writeString(dir.resolve("metrics.jsonl"), "{\"step\":2,\"lo", StandardOpenOption.APPEND);
    try (MetricsLog log = open(Durability.EVERY_RECORD, OverflowPolicy.BLOCK, 16)) {
      log.log(2, Map.of("loss", 0.8));
    }
    List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8);
    assertThat(lines).hasSize(3);
    assertThat(lines.get(2)).startsWith("{\"step\":2,").contains("\"loss\":0.8");
    assertThat(events).anyMatch(e -> e.startsWith("warning metrics.jsonl ended in a torn line"));
  }

  @Test
  void damageBeforeTheTailIsReportedNotDropped() throws IOException {
    Files.writeString(
        dir.resolve("metrics.jsonl"),
        "{\"step\":0,\"loss\":1}\n{\"step\":1,\u0000\u0000\n{\"step\":2,\"loss\":0.5}\n");
    JsonLines.ReadResult r = JsonLines.read(dir.resolve("metrics.jsonl"));
    assertThat(r.records()).hasSize(2);
    assertThat(r.damagedLines()).containsExactly("metrics.jsonl line 2: not valid JSON");
  }

  @Test
  void aFullQueueDropsAndCountsWhenToldTo() throws IOException {
    long dropped;
    try (MetricsLog log = open(Durability.GROUP_COMMIT, OverflowPolicy.DROP_AND_COUNT, 2)) {
      for (int s = 0; s < 200_000; s++) {
        log.begin(s).put("loss", s).commit();
      }
      dropped = log.dropped();
    }
    assertThat(dropped).isPositive();
    long written = JsonLines.read(dir.resolve("metrics.jsonl")).records().size();
    assertThat(written + dropped).isEqualTo(200_000);
    assertThat(events).anyMatch(e -> e.startsWith(EventType.QUEUE_OVERFLOW.wireName()));
  }

  @Test
  void aFullQueueBlocksByDefaultAndLosesNothing() throws IOException {
    try (MetricsLog log = open(Durability.GROUP_COMMIT, OverflowPolicy.BLOCK, 2)) {
      for (int s = 0; s < 5_000; s++) {
        log.begin(s).put("loss", s).commit();
      }
      assertThat(log.dropped()).isZero();
      assertThat(log.blockedNanos()).isPositive();
    }
    assertThat(JsonLines.read(dir.resolve("metrics.jsonl")).records()).hasSize(5_000);
    assertThat(events)
        .anyMatch(e -> e.startsWith("queue_overflow metrics queue full (policy: block)"));
  }
}
