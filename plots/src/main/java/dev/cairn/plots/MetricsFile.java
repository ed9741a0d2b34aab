package dev.cairn.plots;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * A run's metrics.jsonl read incrementally: each {@link #poll} parses only the complete lines added
 * since the last one (a line being written is left for the next poll), so a background plotter
 * can follow a long run without re-reading it. Also derives {@code steps_per_s} from the records'
 * times, one point per second or more of training.
 */
public final class MetricsFile {
  /** The metric derived from the records' times. */
  public static final String STEPS_PER_SECOND = "steps_per_s";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private final Map<String, Series> series = new TreeMap<>();
  private long offset;
  private long lastStep = -1;
  private long rateStep = -1;
  private long rateMillis;

  public MetricsFile(Path file) {
    this.file = file;
  }

  /** Reads a whole file once. */
  public static MetricsFile load(Path file) throws IOException {
    MetricsFile m = new MetricsFile(file);
    m.poll();
    return m;
  }

  /** Reads the lines added since the last poll; true when there were any. */
  public synchronized boolean poll() throws IOException {
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      return false;
    }
    if (size < offset) {
      offset = 0; // replaced by a shorter file: start over
      series.clear();
    }
    if (size == offset) {
      return false;
    }
    boolean any = false;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer buf = ByteBuffer.allocate(1 << 20);
      byte[] carry = new byte[0];
      long pos = offset;
      while (pos < size) {
        buf.clear();
        int r = ch.read(buf, pos);
        if (r <= 0) {
          break;
        }
        pos += r;
        byte[] chunk = new byte[carry.length + r];
        System.arraycopy(carry, 0, chunk, 0, carry.length);
        buf.flip();
        buf.get(chunk, carry.length, r);
        int start = 0;
        for (int i = 0; i < chunk.length; i++) {
          if (chunk[i] == '\n') {
            line(new String(chunk, start, i - start, StandardCharsets.UTF_8));
            any = true;
            offset += i - start + 1;
            start = i + 1;
          }
        }
        carry = java.util.Arrays.copyOfRange(chunk, start, chunk.length);
      }
    }
    return any;
  }

  private void line(String text) {
    if (text.isBlank()) {
      return;
    }
    JsonNode r;
    try {
      r = JSON.readTree(text);
    } catch (IOException e) {
      return; // a damaged line (a crash mid-write) carries no data worth a chart
    }
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
                series.computeIfAbsent(e.getKey(), Series::new).add(step, e.getValue().asDouble());
              }
            });
    JsonNode time = r.get("time");
    if (time != null && time.isTextual()) {
      rate(step, time.asText());
    }
  }

  private void rate(long step, String time) {
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
          .computeIfAbsent(STEPS_PER_SECOND, Series::new)
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
