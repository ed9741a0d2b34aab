package dev.cairn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.bench.DeterministicJob;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandsTest {
  @TempDir Path runs;

  @Test
  void runsShowTailAndCompareReadFinishedRuns() throws Exception {
    DeterministicJob.run(runs, "a", 60, 20, 1000);
    DeterministicJob.run(runs, "b", 80, 20, 1000);
    CliTest.Result list = CliTest.cairn("runs", runs.toString());
    assertThat(list.code()).isZero();
    assertThat(list.out()).contains("a ").contains("b ").contains("finished").contains("100.0%");

    JsonNode j =
        new ObjectMapper().readTree(CliTest.cairn("runs", runs.toString(), "--json").out());
    assertThat(j).hasSize(2);
    assertThat(j.get(1).path("step").asLong()).isEqualTo(80);
    assertThat(j.get(1).path("last_checkpoint_step").asLong()).isEqualTo(80);

    CliTest.Result show = CliTest.cairn("show", runs.resolve("a").toString());
    assertThat(show.code()).isZero();
    assertThat(show.out())
        .contains("run a  (finished)")
        .contains("\"steps\":60")
        .contains("#1 started")
        .contains("finished at step 60")
        .contains("step-60")
        .containsPattern("system   \\(.+\\) process CPU [0-9.]+%.*heap [0-9.]+ .iB");
    JsonNode shown =
        new ObjectMapper()
            .readTree(CliTest.cairn("show", runs.resolve("a").toString(), "--json").out());
    assertThat(shown.path("system").path("heap_used_bytes").asLong()).isPositive();
    // a sample with a GPU, as the sampler writes it from nvidia-smi (see SystemSamplerTest)
    Files.writeString(
        runs.resolve("a/system.jsonl"),
        "{\"time\":\"2026-01-01T00:00:00Z\",\"step\":60,\"process_cpu_percent\":97.5,"
            + "\"gpu0_name\":\"NVIDIA A100-SXM4-40GB\",\"gpu0_utilization_percent\":87,"
            + "\"gpu0_memory_used_bytes\":31994150912,\"gpu0_memory_total_bytes\":42949672960,"
            + "\"gpu0_temperature_celsius\":64,\"gpu0_power_watts\":312.45}\n",
        java.nio.file.StandardOpenOption.APPEND);
    assertThat(CliTest.cairn("show", runs.resolve("a").toString()).out())
        .contains(
            "system   (2026-01-01T00:00:00Z) process CPU 97.5%, gpu0 NVIDIA A100-SXM4-40GB 87%"
                + " 29.8 GiB/40.0 GiB 64 C 312 W");

    CliTest.Result tail = CliTest.cairn("tail", runs.resolve("a").toString(), "-n", "3");
    assertThat(tail.code()).isZero();
    assertThat(tail.out()).contains("metrics step 59 ").contains("loss=").contains("finished");

    CliTest.Result cmp =
        CliTest.cairn("compare", runs.resolve("a").toString(), runs.resolve("b").toString());
    assertThat(cmp.code()).isZero();
    assertThat(cmp.out()).contains("steps: 60 -> 80").contains("loss");
  }

  @Test
  void saveAsksARunningJobAndPrintsWhereTheCheckpointWent() throws Exception {
    CompletableFuture<Void> job =
        CompletableFuture.runAsync(
            () -> {
              try {
                DeterministicJob.run(runs, "live", 4000, 1000, 50_000);
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    Path dir = runs.resolve("live");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(dir.resolve("progress.json"))
        || !Files.exists(dir.resolve("checkpoints"))) {
      assertThat(System.nanoTime()).isLessThan(deadline);
      java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
    }
    CliTest.Result r =
        CliTest.cairn("save", dir.toString(), "--name", "from-cli", "--timeout", "60s");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("saved step ").contains("checkpoints/step-");
    job.get(120, TimeUnit.SECONDS);
    assertThat(CliTest.cairn("runs", runs.toString()).out()).contains("finished");
    JsonNode show =
        new ObjectMapper().readTree(CliTest.cairn("show", dir.toString(), "--json").out());
    assertThat(show.path("checkpoints").toString()).contains("\"name\":\"from-cli\"");
  }

  @Test
  void stopSavesARunningDemoAndEndsItsSessionAsStopped() throws Exception {
    CompletableFuture<CliTest.Result> demo =
        CompletableFuture.supplyAsync(
            () ->
                CliTest.cairn(
                    "demo",
                    "--dir",
                    runs.toString(),
                    "--run",
                    "long",
                    "--steps",
                    "1000000",
                    "--checkpoint-every-steps",
                    "1000000",
                    "--no-plots"));
    Path dir = runs.resolve("long");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!Files.exists(dir.resolve("progress.json"))
        || !dev.cairn.run.RunStatus.of(dir, java.time.Clock.systemUTC()).status().equals("running")
        || dev.cairn.run.RunStatus.of(dir, java.time.Clock.systemUTC()).step() < 10) {
      assertThat(System.nanoTime()).as("the demo is training").isLessThan(deadline);
      java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);
    }
    CliTest.Result stop = CliTest.cairn("stop", dir.toString(), "--timeout", "120s");
    assertThat(stop.code()).as(stop.err()).isZero();
    assertThat(stop.out())
        .contains("asked long to stop")
        .contains("saved step ")
        .contains("checkpoints/step-")
        .containsPattern("run long is stopped at step \\d+");
    CliTest.Result ended = demo.get(120, TimeUnit.SECONDS);
    assertThat(ended.code()).as(ended.err()).isZero();
    assertThat(ended.out()).contains("stopped " + dir).contains("as asked; run the same command");
    CliTest.Result again = CliTest.cairn("stop", dir.toString());
    assertThat(again.code()).isNotZero();
    assertThat(again.err()).contains("is stopped, not running");
  }

  @Test
  void badInputToRunCommandsIsOneLineAndNonZero() throws Exception {
    Files.createDirectories(runs.resolve("not-a-run"));
    DeterministicJob.run(runs, "done", 10, 5, 100);
    for (String[] args :
        new String[][] {
          {"runs", runs.resolve("missing").toString()},
          {"show", runs.resolve("not-a-run").toString()},
          {"tail", runs.resolve("missing").toString()},
          {"save", runs.resolve("not-a-run").toString()},
          {"save", runs.resolve("done").toString()},
          {"save", runs.resolve("done").toString(), "--name", "../x"},
          {"save", runs.resolve("done").toString(), "--timeout", "soon"},
          {"stop", runs.resolve("done").toString()},
          {"stop", runs.resolve("not-a-run").toString()},
          {"compare", runs.resolve("done").toString()},
          {"bench", "log"},
          {"demo", "--dir", runs.toString(), "--notify", "ftp://example.com/x"},
          {"serve", runs.toString(), "--notify", "not a url"},
          {"supervise", "--notify", "file:///etc/passwd", "--", "true"},
        }) {
      CliTest.Result r = CliTest.cairn(args);
      assertThat(r.code()).as(String.join(" ", args)).isNotZero();
      assertThat(r.err().lines().findFirst().orElse(""))
          .as(String.join(" ", args))
          .startsWith("cairn");
      assertThat(r.err()).doesNotContain("\tat ");
    }
    assertThat(runs.resolve("done/control")).as("a refused save writes nothing").doesNotExist();
  }

  @Test
  void exportTensorBoardWritesEventFilesForRunsThatHaveNone() throws Exception {
    DeterministicJob.run(runs, "a", 30, 10, 1000);
    DeterministicJob.run(runs, "b", 30, 10, 1000);
    Path tbA = runs.resolve("a/tb");
    assertThat(tbA).as("a job with the TensorBoard module on its class path").isDirectory();
    deleteTree(tbA);
    deleteTree(runs.resolve("b/tb"));

    CliTest.Result r =
        CliTest.cairn(
            "export", "tensorboard", runs.resolve("a").toString(), runs.resolve("b").toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("wrote " + tbA.resolve("events.out.tfevents."));
    try (var files = Files.list(tbA)) {
      assertThat(files.toList()).hasSize(1).allMatch(p -> Files.isRegularFile(p));
    }

    CliTest.Result again = CliTest.cairn("export", "tensorboard", runs.resolve("a").toString());
    assertThat(again.code()).isNotZero();
    assertThat(again.err()).startsWith("cairn export tensorboard: ").contains("already holds");
    CliTest.Result none = CliTest.cairn("export", "tensorboard", runs.resolve("zz").toString());
    assertThat(none.code()).isNotZero();
    assertThat(none.err()).contains("is not a Cairn run");
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Test
  void benchLogPrintsNanosecondsPerCall() throws IOException {
    CliTest.Result r =
        CliTest.cairn(
            "bench",
            "log",
            "--dir",
            runs.toString(),
            "--json",
            "--batches",
            "5",
            "--calls",
            "1000");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.path("ns_per_call").asDouble()).isPositive();
    assertThat(j.path("scalars_per_call").asInt()).isEqualTo(5);
  }
}
