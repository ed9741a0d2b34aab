package dev.cairn.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * A run's metrics.jsonl read incrementally: each {@link #poll} parses only the complete lines added
 * since the last one (a line being written is left for the next poll), so a background plotter can
 * follow a long run without re-reading it. Also derives {@code steps_per_s} from the records'
 * times, one point per second or more of training.
 */
public final class MetricsFile {
  /** The metric derived from the records' times. */
  public static final String STEPS_PER_SECOND = "steps_per_s";

  private final JsonlTail tail;
  private final int maxPoints;
  private final Map<String, Series> series = new TreeMap<>();
  private long lastStep = -1;
  private long rateStep = -1;
  private long rateMillis;

  public MetricsFile(Path file) {
    this(file, Series.MAX_POINTS);
  }

  /** A reader keeping up to {@code maxPointsPerSeries} points of each metric at full resolution. */
  public MetricsFile(Path file, int maxPointsPerSeries) {
    this.tail = new JsonlTail(file);
    this.maxPoints = maxPointsPerSeries;
  }

  /** Reads a whole file once. */
  public static MetricsFile load(Path file) throws IOException {
    MetricsFile m = new MetricsFile(file);
    m.poll();
    return m;
  }

  /** Reads the lines added since the last poll; true when there were any. */
  public synchronized boolean poll() throws IOException {
    boolean[] any = {false};
    if (tail.poll(
        r -> {
          any[0] = true;
          record(r);
        })) {
      series.clear();
      lastStep = -1;
      rateStep = -1;
    }
    return any[0];
  }

  private synchronized void record(JsonNode r) {
    JsonNode stepNode = r.get("step");
    if (stepNode == null || !stepNode.canConvertToLong()) {
      return;
    }
    long step = stepNode.asLong();
    lastStep = Math.max(lastStep, step);
    r.properties()
        .forEach(
            e -> {
              if (e.getValue().isNumber() && !e.getKey().equals("step")) {
                series
                    .computeIfAbsent(e.getKey(), k -> new Series(k, maxPoints))
                    .add(step, e.getValue().asDouble());
              }
            });
    JsonNode time = r.get("time");
    if (time != null && time.isTextual()) {
      rate(step, time.asText());
    }
  }

  private synchronized void rate(long step, String time) {
    long millis;
    try {
      millis = Instant.parse(time).toEpochMilli();
    } catch (RuntimeException e) {
      return;
    }
    if (rateStep < 0 || step < rateStep) {
      rateStep = step;
      rateMillis = millis;
      return;
    }
    long dt = millis - rateMillis;
    if (dt >= 1000) {
      series
          .computeIfAbsent(STEPS_PER_SECOND, k -> new Series(k, maxPoints))
          .add(step, (step - rateStep) * 1000.0 / dt);
      rateStep = step;
      rateMillis = millis;
    } else if (dt < 0) {
      rateStep = step; // a clock that went back (another session's host): start a new window
      rateMillis = millis;
    }
  }

  public synchronized Series series(String metric) {
    return series.get(metric);
  }

  /** Names of the metrics seen so far, sorted. */
  public synchronized java.util.Set<String> metrics() {
    return new java.util.TreeSet<>(series.keySet());
  }

  /** The highest step seen; -1 before any. */
  public synchronized long lastStep() {
    return lastStep;
  }

  public synchronized void forEach(Consumer<Series> c) {
    series.values().forEach(c);
  }
}
