package dev.cairn.web;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.metrics.JsonlTail;
import dev.cairn.metrics.MetricsFile;
import dev.cairn.metrics.Series;
import dev.cairn.run.RunStatus;
import io.javalin.http.Context;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code GET /metrics}: every run under the served folder in the Prometheus text format, one time
 * series per run (label {@code run} only: never a step, a prompt or anything else that grows). The
 * server is a separate process from the jobs, so everything comes from the run folders:
 * progress.json for the gauges, events.jsonl's checkpoint events for the save histogram and
 * counters (read incrementally, each scrape parses only new lines), and the latest metrics a
 * response cache logged into metrics.jsonl ({@code <prefix>_hits}, {@code _paid_calls}, {@code
 * _cost}, {@code _saved}, see the cache module's CallStats).
 */
final class PrometheusEndpoint {
  /** The codes of {@code cairn_run_status}, in RunStatus's words. */
  static final List<String> STATES =
      List.of("running", "stalled", "dead", "finished", "failed", "stopped", "unknown");

  static final double[] SAVE_SECONDS_BUCKETS = {
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, Double.POSITIVE_INFINITY
  };

  private final RunCatalog catalog;
  private final Clock clock;
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final Map<Path, Saves> saves = new ConcurrentHashMap<>();

  PrometheusEndpoint(RunCatalog catalog, Clock clock) {
    this.catalog = catalog;
    this.clock = clock;
  }

  void scrape(Context ctx) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
    writer.write(out, collect());
    ctx.status(200);
    ctx.contentType(PrometheusTextFormatWriter.CONTENT_TYPE);
    ctx.result(out.toByteArray());
  }

  /** One family per metric name; a run that cannot be read now is left out of this scrape. */
  MetricSnapshots collect() throws IOException {
    Families f = new Families();
    List<Path> dirs = catalog.runs();
    saves.keySet().retainAll(dirs);
    for (Path dir : dirs) {
      RunStatus s;
      JsonNode progress;
      try {
        s = RunStatus.of(dir, clock);
        Path p = catalog.view(dir).files().progress();
        progress = Files.exists(p) ? Json.MAPPER.readTree(p.toFile()) : Json.MAPPER.nullNode();
      } catch (IOException | RuntimeException e) {
        continue; // being created, or damaged: the runs page says why
      }
      Labels run = Labels.of("run", s.id());
      int code = STATES.indexOf(s.status());
      f.gauge(
          "cairn_run_status",
          "Run status: 0 running, 1 stalled, 2 dead, 3 finished, 4 failed, 5 stopped, 6 unknown",
          null,
          run,
          code < 0 ? STATES.size() - 1 : code);
      f.gauge("cairn_train_step", "Steps done (the next step to run)", null, run, s.step());
      if (s.totalSteps() > 0) {
        f.gauge("cairn_train_total_steps", "Steps the run will take", null, run, s.totalSteps());
      }
      f.gauge("cairn_train_loss", "Latest training loss", null, run, s.loss());
      f.gauge(
          "cairn_train_steps_per_second",
          "Training steps per second (recent)",
          null,
          run,
          progress.path("steps_per_second").asDouble(Double.NaN));
      f.gauge(
          "cairn_train_samples_per_second",
          "Training samples per second (recent; needs run.batchSize)",
          null,
          run,
          progress.path("samples_per_second").asDouble(Double.NaN));
      f.gauge(
          "cairn_checkpoint_age_seconds",
          "Seconds since the newest checkpoint was saved",
          Unit.SECONDS,
          run,
          s.lastCheckpointAgeSeconds());
      f.gauge(
          "cairn_heartbeat_age_seconds",
          "Seconds since the job last wrote its heartbeat (progress.json)",
          Unit.SECONDS,
          run,
          s.heartbeatAgeSeconds());
      Saves sv = saves.computeIfAbsent(dir, d -> new Saves(catalog.view(d).files().events()));
      sv.poll();
      f.histogram(run, sv);
      f.counter(
          "cairn_checkpoint_saved_bytes", "Bytes of checkpoints saved", Unit.BYTES, run, sv.bytes);
      f.counter(
          "cairn_checkpoint_save_failures", "Checkpoint saves that failed", null, run, sv.failed);
      cache(f, run, catalog.view(dir).metrics());
    }
    return f.snapshots();
  }

  /** The response cache's counts, summed over the prefixes it logged under (usually one). */
  private static void cache(Families f, Labels run, MetricsFile m) {
    double hits = 0;
    double misses = 0;
    double cost = 0;
    double saved = 0;
    boolean any = false;
    for (String name : m.metrics()) {
      if (!name.endsWith("_paid_calls")) {
        continue;
      }
      String prefix = name.substring(0, name.length() - "_paid_calls".length());
      any = true;
      misses += last(m, name);
      hits += last(m, prefix + "_hits");
      cost += last(m, prefix + "_cost");
      saved += last(m, prefix + "_saved");
    }
    if (!any) {
      return;
    }
    f.counter("cairn_cache_hits", "Answers served from the response cache", null, run, hits);
    f.counter("cairn_cache_misses", "Calls the response cache had to pay for", null, run, misses);
    f.counter(
        "cairn_cache_spent", "Money paid for calls (the cache's price unit)", null, run, cost);
    f.counter("cairn_cache_saved", "Money the cache saved by answering again", null, run, saved);
  }

  private static double last(MetricsFile m, String key) {
    Series s = m.series(key);
    double[] p = s == null ? null : s.last();
    return p == null || !Double.isFinite(p[1]) ? 0 : p[1];
  }

  /** A run's checkpoint_saved and checkpoint_failed events so far. */
  static final class Saves {
    private final JsonlTail tail;
    final long[] counts = new long[SAVE_SECONDS_BUCKETS.length];
    double seconds;
    double bytes;
    double failed;

    Saves(Path events) {
      this.tail = new JsonlTail(events);
    }

    synchronized void poll() throws IOException {
      tail.poll(
          e -> {
            String type = e.path("type").asText();
            if (type.equals("checkpoint_saved")) {
              double s = e.path("seconds").asDouble(0);
              seconds += s;
              bytes += e.path("bytes").asDouble(0);
              int i = 0;
              while (s > SAVE_SECONDS_BUCKETS[i]) {
                i++;
              }
              counts[i]++;
            } else if (type.equals("checkpoint_failed")) {
              failed++;
            }
          });
    }
  }

  /** Data points grouped by metric name, in first-seen order. */
  private static final class Families {
    private final Map<String, GaugeSnapshot.Builder> gauges = new LinkedHashMap<>();
    private final Map<String, CounterSnapshot.Builder> counters = new LinkedHashMap<>();
    private HistogramSnapshot.Builder saves;

    void gauge(String name, String help, Unit unit, Labels labels, double value) {
      if (!Double.isFinite(value)) {
        return; // not known (no checkpoint yet, no loss logged): no sample, rather than NaN
      }
      gauges
          .computeIfAbsent(
              name,
              n -> {
                GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(n).help(help);
                return unit == null ? b : b.unit(unit);
              })
          .dataPoint(
              GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(labels).value(value).build());
    }

    void counter(String name, String help, Unit unit, Labels labels, double value) {
      counters
          .computeIfAbsent(
              name,
              n -> {
                CounterSnapshot.Builder b = CounterSnapshot.builder().name(n).help(help);
                return unit == null ? b : b.unit(unit);
              })
          .dataPoint(
              CounterSnapshot.CounterDataPointSnapshot.builder()
                  .labels(labels)
                  .value(value)
                  .build());
    }

    void histogram(Labels labels, Saves s) {
      if (saves == null) {
        saves =
            HistogramSnapshot.builder()
                .name("cairn_checkpoint_save_duration_seconds")
                .help("Time from a save's snapshot to its durable commit")
                .unit(Unit.SECONDS);
      }
      long[] counts;
      double sum;
      synchronized (s) {
        counts = s.counts.clone();
        sum = s.seconds;
      }
      saves.dataPoint(
          HistogramSnapshot.HistogramDataPointSnapshot.builder()
              .labels(labels)
              .classicHistogramBuckets(ClassicHistogramBuckets.of(SAVE_SECONDS_BUCKETS, counts))
              .sum(sum)
              .build());
    }

    MetricSnapshots snapshots() {
      List<MetricSnapshot> all = new ArrayList<>();
      gauges.values().forEach(b -> all.add(b.build()));
      if (saves != null) {
        all.add(saves.build());
      }
      counters.values().forEach(b -> all.add(b.build()));
      return new MetricSnapshots(all);
    }
  }
}
