package dev.cairn.metrics;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
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
  // Numbers are most of a metrics line: Jackson's FastDoubleParser reads them about twice as fast.
  private static final JsonFactory FACTORY =
      JsonFactory.builder().enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER).build();

  /** The metric derived from the records' times. */
  public static final String STEPS_PER_SECOND = "steps_per_s";

  /** Metric names held per file when no other limit is given. */
  public static final int DEFAULT_MAX_METRICS = 10_000;

  private final JsonlTail tail;
  private final int maxPoints;
  private final int maxMetrics;
  private final PointBudget budget;
  private boolean overLimit;
  private String[] names = new String[16];
  private double[] values = new double[16];
  private final Map<String, Series> series = new TreeMap<>();
  private long lastStep = -1;
  private long rateStep = -1;
  private long rateMillis;
  private String secondPrefix;
  private long secondMillis;

  public MetricsFile(Path file) {
    this(file, Series.MAX_POINTS);
  }

  /** A reader keeping up to {@code maxPointsPerSeries} points of each metric at full resolution. */
  public MetricsFile(Path file, int maxPointsPerSeries) {
    this(file, maxPointsPerSeries, DEFAULT_MAX_METRICS, PointBudget.unlimited());
  }

  /**
   * A reader whose memory is bounded whatever the file holds: up to {@code maxPointsPerSeries}
   * points of each metric, the first {@code maxMetrics} metric names it meets (values of later
   * names are dropped, and {@link #overLimit} says so), points drawn from a {@code budget} that may
   * be shared with other readers, and lines up to {@link JsonlTail#DEFAULT_MAX_LINE_BYTES}.
   */
  public MetricsFile(Path file, int maxPointsPerSeries, int maxMetrics, PointBudget budget) {
    if (maxMetrics < 1) {
      throw new IllegalArgumentException("keep at least one metric name, not " + maxMetrics);
    }
    this.tail = new JsonlTail(file);
    this.maxPoints = maxPointsPerSeries;
    this.maxMetrics = maxMetrics;
    this.budget = budget;
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
    tail.poll(
        this::reset,
        (b, off, len) -> {
          if (record(b, off, len)) {
            any[0] = true;
          }
        });
    return any[0];
  }

  /** The file was replaced: start over. */
  private synchronized void reset() {
    series.values().forEach(Series::release);
    series.clear();
    overLimit = false;
    lastStep = -1;
    rateStep = -1;
  }

  /**
   * Forgets every point, giving their room back to the budget; a later {@link #poll} reads the file
   * again from its start.
   */
  public synchronized void close() {
    reset();
    tail.rewind();
  }

  /**
   * One record, read with Jackson's streaming parser (no tree, no strings but the field names,
   * which the parser interns): a long run's million lines are read in about a second.
   */
  private synchronized boolean record(byte[] b, int off, int len) {
    int k = 0;
    long step = -1;
    boolean hasStep = false;
    String time = null;
    try (JsonParser p = FACTORY.createParser(b, off, len)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return false;
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT) {
          if (name.equals("step")) {
            double v = p.getDoubleValue();
            hasStep = v == Math.rint(v) && Math.abs(v) < 9e15;
            step = (long) v;
          } else {
            if (k == names.length) {
              names = Arrays.copyOf(names, 2 * k);
              values = Arrays.copyOf(values, 2 * k);
            }
            names[k] = name;
            values[k++] = p.getDoubleValue();
          }
        } else if (t == JsonToken.VALUE_STRING && name.equals("time")) {
          time = p.getText();
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      return false; // a damaged line: a crash mid-write
    }
    if (!hasStep) {
      return false;
    }
    lastStep = Math.max(lastStep, step);
    for (int i = 0; i < k; i++) {
      Series s = series(names[i], true);
      if (s != null) {
        s.add(step, values[i]);
      }
    }
    if (time != null) {
      rate(step, time);
    }
    return true;
  }

  private synchronized void rate(long step, String time) {
    long millis;
    try {
      millis = millis(time);
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
      Series s = series(STEPS_PER_SECOND, true);
      if (s != null) {
        s.add(step, (step - rateStep) * 1000.0 / dt);
      }
      rateStep = step;
      rateMillis = millis;
    } else if (dt < 0) {
      rateStep = step; // a clock that went back (another session's host): start a new window
      rateMillis = millis;
    }
  }

  /**
   * Epoch milliseconds of an ISO instant. Records of one second share everything up to the
   * fraction, so the calendar arithmetic runs once a second and each record parses only its
   * milliseconds (a million Instant.parse calls were a third of reading a long run).
   */
  private long millis(String time) {
    int n = time.length();
    boolean simple =
        n >= 20 && time.charAt(n - 1) == 'Z' && (time.charAt(19) == '.' || time.charAt(19) == 'Z');
    if (!simple) {
      return Instant.parse(time).toEpochMilli();
    }
    if (secondPrefix == null || !time.regionMatches(0, secondPrefix, 0, 19)) {
      secondPrefix = time.substring(0, 19);
      secondMillis = Instant.parse(secondPrefix + "Z").toEpochMilli();
    }
    int ms = 0;
    int digits = 0;
    for (int i = 20; i < n - 1 && digits < 3; i++, digits++) {
      char c = time.charAt(i);
      if (c < '0' || c > '9') {
        return Instant.parse(time).toEpochMilli();
      }
      ms = ms * 10 + (c - '0');
    }
    for (; digits < 3; digits++) {
      ms *= 10;
    }
    return secondMillis + ms;
  }

  /** The series of this name, created when there is room for one more name; else null. */
  private Series series(String name, boolean create) {
    Series s = series.get(name);
    if (s == null && create) {
      if (series.size() >= maxMetrics) {
        overLimit = true;
        return null;
      }
      s = new Series(name, maxPoints, budget);
      series.put(name, s);
    }
    return s;
  }

  public synchronized Series series(String metric) {
    return series.get(metric);
  }

  /** Whether the file names more metrics than this reader holds (the first ones are held). */
  public synchronized boolean overLimit() {
    return overLimit;
  }

  /** The most metric names held. */
  public int maxMetrics() {
    return maxMetrics;
  }

  /** Lines skipped for being longer than the line limit. */
  public synchronized long skippedLines() {
    return tail.skippedLines();
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
