package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemApiTest {
  @TempDir Path runs;

  @Test
  void systemSeriesComeFromSystemJsonlOverTime() throws Exception {
    try (Run r = Cairn.open(runs, RunOptions.named("sys").systemMetrics(Duration.ZERO))) {
      r.log(0, Map.of("loss", 1.0));
    }
    try (Run r = Cairn.open(runs, RunOptions.named("none").systemMetrics(Duration.ZERO))) {
      r.log(0, Map.of("loss", 1.0));
    }
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      lines.append(
          String.format(
              "{\"time\":\"2026-01-01T00:%02d:%02d Z\",\"step\":%d,\"process_cpu_percent\":%d,"
                  + "\"rss_bytes\":%d,\"gpu0_name\":\"A100\",\"gpu0_utilization_percent\":%d}%n",
              i / 6, (i % 6) * 10, i * 100, 90 + i % 3, (1L << 30) + i, i % 2 == 0 ? 80 : 90));
    }
    Files.writeString(
        new RunFiles(runs.resolve("sys")).system(),
        lines.toString().replace(" Z", "Z"),
        StandardCharsets.UTF_8);
    try (Dashboard d = Dashboard.builder(runs).port(0).start()) {
      String token = Files.readString(d.tokenFile()).trim();
      Map<String, String> auth = Map.of("Authorization", "Bearer " + token);
      RawHttp.Response r =
          RawHttp.send(d.port(), "GET", "/api/runs/sys/system?max_points=10", auth, null);
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      JsonNode j = new ObjectMapper().readTree(r.body());
      assertThat(j.path("samples").asInt()).isEqualTo(50);
      JsonNode cpu = j.path("series").path("process_cpu_percent");
      assertThat(cpu.path("times")).hasSize(10);
      assertThat(cpu.path("times").get(0).asDouble())
          .isEqualTo(java.time.Instant.parse("2026-01-01T00:00:00Z").getEpochSecond());
      assertThat(cpu.path("times").get(9).asDouble())
          .isEqualTo(java.time.Instant.parse("2026-01-01T00:08:10Z").getEpochSecond());
      assertThat(j.path("series").has("gpu0_utilization_percent")).isTrue();
      assertThat(j.path("series").has("step")).as("the step is not a system metric").isFalse();
      assertThat(j.path("latest").path("rss_bytes").asLong()).isEqualTo((1L << 30) + 49);

      JsonNode none =
          new ObjectMapper()
              .readTree(RawHttp.send(d.port(), "GET", "/api/runs/none/system", auth, null).body());
      assertThat(none.path("samples").asInt()).isZero();
      assertThat(none.path("latest").isNull()).isTrue();
      assertThat(RawHttp.send(d.port(), "GET", "/api/runs/sys/system", Map.of(), null).status())
          .isEqualTo(401);
      assertThat(
              RawHttp.send(d.port(), "GET", "/api/runs/sys/system?max_points=1", auth, null)
                  .status())
          .isEqualTo(400);
    }
  }
}
