package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.JsonLines;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.TensorMap;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrometheusEndpointTest {
  @TempDir Path runs;

  @Test
  void prometheusScrapesEveryRunWithTheDashboardTokenAsBearer() throws Exception {
    try (Run r =
        Cairn.open(runs, RunOptions.named("a").totalSteps(6).systemMetrics(Duration.ZERO))) {
      CheckpointManager ckpt =
          r.checkpoints(CheckpointPolicy.builder().everySteps(2).every(null).build());
      TensorMap model = new TensorMap("model").put("w", new float[256]);
      ckpt.restoreLatest(model);
      for (int s = 0; s < 6; s++) {
        ckpt.onStep(s, Map.of("loss", 1.0 / (s + 1)));
        r.log(s, Map.of("loss", 1.0 / (s + 1)));
      }
      r.log(
          5,
          Map.of(
              "teacher_hits",
              5.0,
              "teacher_paid_calls",
              3.0,
              "teacher_cost",
              0.12,
              "teacher_saved",
              0.2));
      ckpt.saveFinal();
      r.finish(Map.of());
    }
    try (Run r = Cairn.open(runs, RunOptions.named("b").systemMetrics(Duration.ZERO))) {
      r.log(0, Map.of("loss", 2.0));
    }
    Cairn.appendEvent(
        runs.resolve("b"), EventType.CHECKPOINT_FAILED, "saving step-1 failed: disk full", null);

    List<ObjectNode> saved =
        JsonLines.read(new RunFiles(runs.resolve("a")).events()).records().stream()
            .filter(e -> e.path("type").asText().equals("checkpoint_saved"))
            .toList();
    assertThat(saved).isNotEmpty();
    double seconds = saved.stream().mapToDouble(e -> e.path("seconds").asDouble()).sum();
    double bytes = saved.stream().mapToDouble(e -> e.path("bytes").asDouble()).sum();

    try (Dashboard d = Dashboard.builder(runs).port(0).start()) {
      String token = Files.readString(d.tokenFile()).trim();
      HttpClient http = HttpClient.newHttpClient();
      URI uri = URI.create("http://127.0.0.1:" + d.port() + "/metrics");
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + token).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue("content-type").orElse(""))
          .startsWith("text/plain; version=0.0.4");
      Files.writeString(Path.of("target", "metrics-scrape.txt"), r.body());
      Map<String, PrometheusText.Family> f = PrometheusText.parse(r.body());

      assertThat(f.get("cairn_run_status").type()).isEqualTo("gauge");
      assertThat(value(f, "cairn_run_status", "a")).isEqualTo(3); // finished
      assertThat(value(f, "cairn_run_status", "b")).isEqualTo(5); // stopped
      assertThat(value(f, "cairn_train_step", "a")).isEqualTo(6);
      assertThat(value(f, "cairn_train_loss", "a")).isEqualTo(1.0 / 6, within());
      assertThat(value(f, "cairn_checkpoint_age_seconds", "a")).isBetween(0.0, 3600.0);
      assertThat(value(f, "cairn_heartbeat_age_seconds", "a")).isBetween(0.0, 3600.0);

      PrometheusText.Family h = f.get("cairn_checkpoint_save_duration_seconds");
      assertThat(h.type()).isEqualTo("histogram");
      List<PrometheusText.Sample> buckets =
          h.samples().stream()
              .filter(s -> s.name().endsWith("_bucket") && s.labels().get("run").equals("a"))
              .toList();
      assertThat(buckets).hasSize(PrometheusEndpoint.SAVE_SECONDS_BUCKETS.length);
      assertThat(buckets.get(buckets.size() - 1).labels().get("le")).isEqualTo("+Inf");
      double previous = 0;
      for (PrometheusText.Sample b : buckets) {
        assertThat(b.value()).as("cumulative buckets").isGreaterThanOrEqualTo(previous);
        previous = b.value();
      }
      assertThat(previous).isEqualTo(saved.size());
      assertThat(sample(h, "cairn_checkpoint_save_duration_seconds_count", "a"))
          .isEqualTo(saved.size());
      assertThat(sample(h, "cairn_checkpoint_save_duration_seconds_sum", "a"))
          .isEqualTo(seconds, within());
      assertThat(counter(f, "cairn_checkpoint_saved_bytes").type()).isEqualTo("counter");
      assertThat(
              sample(
                  counter(f, "cairn_checkpoint_saved_bytes"),
                  "cairn_checkpoint_saved_bytes_total",
                  "a"))
          .isEqualTo(bytes);
      assertThat(
              sample(
                  counter(f, "cairn_checkpoint_save_failures"),
                  "cairn_checkpoint_save_failures_total",
                  "b"))
          .isEqualTo(1);
      assertThat(sample(counter(f, "cairn_cache_hits"), "cairn_cache_hits_total", "a"))
          .isEqualTo(5);
      assertThat(sample(counter(f, "cairn_cache_misses"), "cairn_cache_misses_total", "a"))
          .isEqualTo(3);
      assertThat(sample(counter(f, "cairn_cache_spent"), "cairn_cache_spent_total", "a"))
          .isEqualTo(0.12);
      assertThat(sample(counter(f, "cairn_cache_saved"), "cairn_cache_saved_total", "a"))
          .isEqualTo(0.2);
      assertThat(counter(f, "cairn_cache_hits").samples()).as("b has no cache").hasSize(1);

      for (PrometheusText.Family fam : f.values()) {
        assertThat(fam.help()).as(fam.name()).isNotBlank();
        for (PrometheusText.Sample s : fam.samples()) {
          Set<String> allowed = s.name().endsWith("_bucket") ? Set.of("run", "le") : Set.of("run");
          assertThat(allowed).as(s.toString()).containsAll(s.labels().keySet());
        }
      }

      // A new save shows on the next scrape (events are read incrementally).
      Cairn.appendEvent(runs.resolve("b"), EventType.CHECKPOINT_FAILED, "again", null);
      String again =
          http.send(
                  HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + token).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(
              sample(
                  counter(PrometheusText.parse(again), "cairn_checkpoint_save_failures"),
                  "cairn_checkpoint_save_failures_total",
                  "b"))
          .isEqualTo(2);

      HttpResponse<String> anonymous =
          http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(anonymous.statusCode()).isEqualTo(401);
      assertThat(anonymous.body()).doesNotContain("cairn_train_step");
      HttpResponse<String> wrong =
          http.send(
              HttpRequest.newBuilder(uri).header("Authorization", "Bearer nope").build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(wrong.statusCode()).isEqualTo(401);
    }
  }

  /** A counter family, declared under its name with or without _total. */
  private static PrometheusText.Family counter(Map<String, PrometheusText.Family> f, String name) {
    PrometheusText.Family c = f.containsKey(name) ? f.get(name) : f.get(name + "_total");
    assertThat(c).as(name).isNotNull();
    assertThat(c.type()).isEqualTo("counter");
    return c;
  }

  private static org.assertj.core.data.Offset<Double> within() {
    return org.assertj.core.data.Offset.offset(1e-9);
  }

  private static double value(Map<String, PrometheusText.Family> f, String name, String run) {
    return sample(f.get(name), name, run);
  }

  private static double sample(PrometheusText.Family f, String name, String run) {
    return f.samples().stream()
        .filter(s -> s.name().equals(name) && run.equals(s.labels().get("run")))
        .findFirst()
        .orElseThrow(() -> new AssertionError(name + "{run=" + run + "} not in " + f))
        .value();
  }
}
