package dev.cairn.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.events.JsonLines;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunOptions;
import dev.cairn.testkit.MutableClock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemSamplerTest {
  @TempDir Path dir;
  final List<String> events = Collections.synchronizedList(new ArrayList<>());
  final Events sink = (type, step, message, fields) -> events.add(type.wireName() + " " + message);
  final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

  /** A stand-in for nvidia-smi that prints what the real one prints for two A100s. */
  private Path fakeNvidiaSmi(String body) throws IOException {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path smi = bin.resolve("nvidia-smi");
    Files.writeString(smi, "#!/bin/sh\n" + body, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
    return bin;
  }

  private SystemSampler sampler(JsonLines out, String path) {
    return new SystemSampler(dir, out, clock, path, sink, () -> 42);
  }

  @Test
  void gpusComeFromNvidiaSmiOnThePathInItsCsvFormat() throws IOException {
    Path bin =
        fakeNvidiaSmi(
            "echo \"$@\" > \"$(dirname \"$0\")/args\"\n"
                + "echo '0, NVIDIA A100-SXM4-40GB, 87, 30512, 40960, 64, 312.45'\n"
                + "echo '1, NVIDIA A100-SXM4-40GB, 0, 4, 40960, 33, [N/A]'\n");
    try (JsonLines out = JsonLines.open(dir.resolve("system.jsonl"), false)) {
      ObjectNode s = sampler(out, dir.resolve("nothing-here") + ":" + bin).sample();
      assertThat(s.path("gpu0_name").asText()).isEqualTo("NVIDIA A100-SXM4-40GB");
      assertThat(s.path("gpu0_utilization_percent").asDouble()).isEqualTo(87);
      assertThat(s.path("gpu0_memory_used_bytes").asLong()).isEqualTo(30512L << 20);
      assertThat(s.path("gpu0_memory_total_bytes").asLong()).isEqualTo(40960L << 20);
      assertThat(s.path("gpu0_temperature_celsius").asDouble()).isEqualTo(64);
      assertThat(s.path("gpu0_power_watts").asDouble()).isEqualTo(312.45);
      assertThat(s.path("gpu1_utilization_percent").asDouble()).isZero();
      assertThat(s.has("gpu1_power_watts")).as("[N/A] is left out, not 0").isFalse();
      assertThat(s.path("step").asLong()).isEqualTo(42);
    }
    assertThat(Files.readString(bin.resolve("args")).strip())
        .isEqualTo(
            "--query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,"
                + "power.draw --format=csv,noheader,nounits");
    List<ObjectNode> lines = JsonLines.read(dir.resolve("system.jsonl")).records();
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0).path("gpu0_power_watts").asDouble()).isEqualTo(312.45);
    assertThat(events).isEmpty();
  }

  @Test
  void withoutNvidiaSmiThereAreNoGpuSeriesButTheProcessAndMachineAreSampled() throws IOException {
    try (JsonLines out = JsonLines.open(dir.resolve("system.jsonl"), false)) {
      SystemSampler sampler =
          sampler(out, Files.createDirectories(dir.resolve("empty")).toString());
      sampler.sample();
      clock.advance(Duration.ofSeconds(10));
      ObjectNode s = sampler.sample();
      assertThat(s.fieldNames()).toIterable().noneMatch(k -> k.startsWith("gpu"));
      assertThat(s.path("time").asText()).isEqualTo("2026-01-01T00:00:10Z");
      assertThat(s.path("heap_used_bytes").asLong()).isPositive();
      assertThat(s.path("heap_committed_bytes").asLong()).isPositive();
      assertThat(s.has("gc_seconds")).isTrue();
      assertThat(s.path("disk_free_bytes").asLong()).isPositive();
      assertThat(s.path("disk_total_bytes").asLong())
          .isGreaterThanOrEqualTo(s.path("disk_free_bytes").asLong());
      assertThat(s.path("process_cpu_percent").isNumber()).isTrue();
      if (Files.exists(Path.of("/proc/self/status"))) {
        assertThat(s.path("rss_bytes").asLong()).isGreaterThan(1 << 20);
        assertThat(s.path("machine_cpu_percent").asDouble()).isBetween(0.0, 100.0);
      }
    }
    assertThat(JsonLines.read(dir.resolve("system.jsonl")).records()).hasSize(2);
    assertThat(events).isEmpty();
  }

  @Test
  void procFilesGiveRssBytesWrittenAndMachineCpuBetweenSamples() throws IOException {
    Path proc = Files.createDirectories(dir.resolve("proc/self")).getParent();
    Files.writeString(proc.resolve("self/status"), "Name:\tjava\nVmRSS:\t  123456 kB\n");
    Files.writeString(
        proc.resolve("self/io"), "rchar: 10\nwchar: 5000\nread_bytes: 0\nwrite_bytes: 4096\n");
    Files.writeString(proc.resolve("stat"), "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n");
    try (JsonLines out = JsonLines.open(dir.resolve("system.jsonl"), false)) {
      SystemSampler sampler = new SystemSampler(dir, out, clock, null, sink, () -> 0, proc);
      ObjectNode first = sampler.sample();
      assertThat(first.path("rss_bytes").asLong()).isEqualTo(123456L * 1024);
      assertThat(first.path("disk_write_bytes").asLong()).isEqualTo(4096);
      assertThat(first.path("write_call_bytes").asLong()).isEqualTo(5000);
      assertThat(first.path("machine_cpu_percent").asDouble()).isEqualTo(20.0); // since boot
      // 300 more busy jiffies of 400: 75 % between the samples
      Files.writeString(proc.resolve("stat"), "cpu  300 0 200 900 0 0 0 0 0 0\n");
      clock.advance(Duration.ofSeconds(10));
      assertThat(sampler.sample().path("machine_cpu_percent").asDouble()).isEqualTo(75.0);
    }
  }

  @Test
  void aFailingNvidiaSmiIsOneEventAndTheSampleIsStillWritten() throws IOException {
    Path bin =
        fakeNvidiaSmi("echo 'NVIDIA-SMI has failed because it could not communicate'\nexit 9\n");
    try (JsonLines out = JsonLines.open(dir.resolve("system.jsonl"), false)) {
      SystemSampler sampler = sampler(out, bin.toString());
      sampler.sample();
      sampler.sample();
    }
    assertThat(JsonLines.read(dir.resolve("system.jsonl")).records())
        .hasSize(2)
        .allMatch(r -> r.has("heap_used_bytes") && !r.has("gpu0_name"));
    assertThat(events)
        .hasSize(1)
        .first()
        .asString()
        .startsWith(EventType.MONITORING_FAILED.wireName())
        .contains("exited with 9")
        .contains("could not communicate");
  }

  @Test
  void aRunSamplesInTheBackgroundIntoSystemJsonlAndCanTurnItOff() throws IOException {
    Path runs = dir.resolve("runs");
    try (Run run = Cairn.open(runs, RunOptions.named("on").systemMetrics(Duration.ofMillis(20)))) {
      Path file = new RunFiles(run.dir()).system();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (JsonLines.read(file).records().size() < 2 && System.nanoTime() < deadline) {
        LockSupport.parkNanos(5_000_000); // waiting for the sampler's lines, not for a guess
      }
      run.log(0, Map.of("loss", 1.0));
    }
    List<ObjectNode> lines = JsonLines.read(new RunFiles(runs.resolve("on")).system()).records();
    assertThat(lines.size()).isGreaterThanOrEqualTo(2);
    assertThat(lines.get(0).path("heap_used_bytes").asLong()).isPositive();

    try (Run run = Cairn.open(runs, RunOptions.named("off").systemMetrics(Duration.ZERO))) {
      run.log(0, Map.of("loss", 1.0));
    }
    assertThat(new RunFiles(runs.resolve("off")).system()).doesNotExist();
  }
}
