package dev.cairn.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.events.Events;
import dev.cairn.metrics.Durability;
import dev.cairn.metrics.MetricsLog;
import dev.cairn.metrics.OverflowPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A call of the scalars benchmark logs what it says it does. */
class LogBenchmarkTest {
  @TempDir Path dir;

  @Test
  void aHundredScalarsGoIntoRecordsOfAtMostTheLimitForOneStep() throws IOException {
    LogBenchmark.Scalars hundred = new LogBenchmark.Scalars(100);
    assertThat(hundred.records()).isEqualTo(4);
    Path file = dir.resolve("metrics.jsonl");
    try (MetricsLog log =
        MetricsLog.open(
            file,
            Durability.GROUP_COMMIT,
            OverflowPolicy.BLOCK,
            16,
            Events.NONE,
            Clock.systemUTC())) {
      hundred.log(log, 7);
    }
    List<String> lines = Files.readAllLines(file);
    assertThat(lines).hasSize(4);
    Set<String> names = new HashSet<>();
    ObjectMapper json = new ObjectMapper();
    for (String line : lines) {
      JsonNode r = json.readTree(line);
      assertThat(r.get("step").asLong()).isEqualTo(7);
      r.fieldNames().forEachRemaining(n -> names.add(n));
    }
    for (int i = 0; i < 100; i++) {
      assertThat(names).contains("m" + i);
    }
  }

  @Test
  void theDefaultIsFiveScalarsInOneRecord() {
    assertThat(new LogBenchmark.Scalars(5).records()).isEqualTo(1);
    assertThat(new LogBenchmark.Scalars(32).records()).isEqualTo(1);
    assertThat(new LogBenchmark.Scalars(33).records()).isEqualTo(2);
  }
}
