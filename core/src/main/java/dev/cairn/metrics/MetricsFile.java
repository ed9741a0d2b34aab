package dev.cairn.metrics;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
 *
 * <p>Given the run's metrics.bin (the binary sidecar {@link MetricsLog} keeps beside the file), the
 * first read takes the records from it instead of parsing their JSON, for the part of the file the
 * sidecar provably covers (whole blocks with matching checksums, ending within the file, the last
 * one's line found in the file as it was written), and parses only the lines before and after that
 * part. The result is the same as parsing the whole file; a sidecar that is missing, damaged,
 * behind or from another file costs only speed.
 */
public final class MetricsFile {
  /**
   * The JSON parser's factory, made on first use: a run read wholly from its sidecar does not pay
   * for loading and initialising the parser (a large part of a cold process's first read).
   */
  private static final class Json {
    // Numbers are most of a metrics line: Jackson's FastDoubleParser reads them about twice as
    // fast.
    static final JsonFactory FACTORY =
        JsonFactory.builder().enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER).build();
  }

  /** The metric derived from the records' times. */
  public static final String STEPS_PER_SECOND = "steps_per_s";

  /** Metric names held per file when no other limit is given. */
  public static final int DEFAULT_MAX_METRICS = 10_000;

  private final JsonlTail tail;
  private final Path file;
  private final Path sidecar; // null: none
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
    this(file, null, maxPointsPerSeries, maxMetrics, budget);
  }

  /**
   * As {@link #MetricsFile(Path, int, int, PointBudget)}, reading what it can of the file from its
   * binary sidecar {@code sidecar} (null for none; see the class comment).
   */
  public MetricsFile(
      Path file, Path sidecar, int maxPointsPerSeries, int maxMetrics, PointBudget budget) {
    if (maxMetrics < 1) {
      throw new IllegalArgumentException("keep at least one metric name, not " + maxMetrics);
    }
    this.tail = new JsonlTail(file);
    this.file = file;
    this.sidecar = sidecar;
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
    JsonlTail.LineSink lines =
        (b, off, len) -> {
          if (record(b, off, len)) {
            any[0] = true;
          }
        };
    if (sidecar != null && tail.offset() == 0 && readSidecar(lines)) {
      any[0] = true;
    }
    tail.poll(this::reset, lines);
    return any[0];
  }

  /**
   * Reads what it can of the file from the sidecar: each usable block is replayed in its place and
   * the lines between blocks are parsed; the tail is left at the end of the last block used. A
   * block whose last line the file does not hold where it says, and every block after it, is not
   * used. A block whose content breaks the format forgets everything read, and the file is parsed
   * as if there were no sidecar.
   */
  private boolean readSidecar(JsonlTail.LineSink lines) {
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      return false; // missing or unreadable: the ordinary poll says so, or waits for it
    }
    SidecarReader counted = countSidecar(size);
    if (counted == null) {
      return false;
    }
    try (SidecarReader r = SidecarReader.open(sidecar, size)) {
      if (r == null) {
        return false;
      }
      r.expect(counted);
      Replay replay = new Replay();
      boolean any = false;
      // Each block is used only once metrics.jsonl is seen to hold its last line where it says.
      while (r.next() && r.verify(file)) {
        if (r.start() > tail.offset()) {
          // Lines the sidecar does not hold (written before it existed, or a killed session's
          // last ones): parsed in their place, so that points replace each other in log order.
          tail.poll(this::reset, lines, r.start());
          if (tail.offset() != r.start()) {
            return forgetSidecar();
          }
        }
        r.replay(replay);
        replay.finish();
        tail.skipTo(r.end());
        any = true;
      }
      return any;
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException | RuntimeException e) {
      return forgetSidecar();
    }
  }

  /**
   * A first pass over the sidecar counting each name's points, so that a series is allocated once
   * at its size: on a long run, the copies of growing by doubling touched as much fresh memory as
   * the points themselves, and first touches of memory were most of a cold read. Null when the
   * sidecar has no usable block.
   */
  private SidecarReader countSidecar(long size) {
    try (SidecarReader r = SidecarReader.open(sidecar, size)) {
      if (r == null) {
        return null;
      }
      boolean any = false;
      while (r.next()) {
        r.count();
        any = true;
      }
      return any ? r : null;
    } catch (IOException e) {
      return null;
    }
  }

  private boolean forgetSidecar() {
    reset();
    tail.rewind();
    return false;
  }

  /**
   * Takes a sidecar block as its JSON lines would be taken, a metric at a time: the same points,
   * the same steps_per_s, and new series created in the order the lines first name them (that order
   * decides which names fit under the limit).
   */
  private final class Replay implements SidecarReader.BlockSink {
    private double[] rateSteps = new double[16];
    private double[] rates = new double[16];
    private int rateCount;
    private int rateFirst;

    @Override
    public void records(double[] steps, long[] millis, int count) {
      replayRecords(this, steps, millis, count);
    }

    @Override
    public void column(
        String name, int firstRecord, double[] steps, double[] vals, int count, int expected) {
      replayColumn(this, name, firstRecord, steps, vals, count, expected);
    }

    void rate(int record, long step, double r) {
      if (rateCount == rates.length) {
        rateSteps = Arrays.copyOf(rateSteps, 2 * rateCount);
        rates = Arrays.copyOf(rates, 2 * rateCount);
      }
      if (rateCount == 0) {
        rateFirst = record;
      }
      rateSteps[rateCount] = step;
      rates[rateCount++] = r;
    }

    /** Adds the block's rates, once its columns are in (or before the first one that follows). */
    void finish() {
      replayRates(this);
    }
  }

  private synchronized void replayRecords(Replay to, double[] steps, long[] millis, int count) {
    to.rateCount = 0;
    for (int i = 0; i < count; i++) {
      long step = (long) steps[i];
      lastStep = Math.max(lastStep, step);
      double r = rate(step, millis[i]);
      if (!Double.isNaN(r)) {
        to.rate(i, step, r);
      }
    }
  }

  private synchronized void replayColumn(
      Replay from,
      String name,
      int firstRecord,
      double[] steps,
      double[] vals,
      int count,
      int expected) {
    // A line's metrics come before the rate derived from its time: a name first met after the
    // record that started steps_per_s was created after it.
    if (from.rateCount > 0 && firstRecord > from.rateFirst && series.get(name) == null) {
      replayRates(from);
    }
    Series s = series(name, true);
    if (s != null) {
      if (s.capacity() < expected) {
        s.reserve(s.size() + expected); // once: the room then holds every point to come
      }
      s.addAll(steps, vals, count);
    }
  }

  private synchronized void replayRates(Replay from) {
    if (from.rateCount > 0) {
      Series s = series(STEPS_PER_SECOND, true);
      if (s != null) {
        s.addAll(from.rateSteps, from.rates, from.rateCount);
      }
      from.rateCount = 0;
    }
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
    try (JsonParser p = Json.FACTORY.createParser(b, off, len)) {
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
    add(step, names, values, k);
    if (time != null) {
      try {
        double r = rate(step, millis(time));
        if (!Double.isNaN(r)) {
          Series s = series(STEPS_PER_SECOND, true);
          if (s != null) {
            s.add(step, r);
          }
        }
      } catch (RuntimeException e) {
        // a time that is not an instant: no rate from this record
      }
    }
    return true;
  }

  private void add(long step, String[] keys, double[] vals, int k) {
    lastStep = Math.max(lastStep, step);
    for (int i = 0; i < k; i++) {
      Series s = series(keys[i], true);
      if (s != null) {
        s.add(step, vals[i]);
      }
    }
  }

  /** The steps per second a record at this step and time ends, or NaN when it ends none. */
  private double rate(long step, long millis) {
    if (rateStep < 0 || step < rateStep) {
      rateStep = step;
      rateMillis = millis;
      return Double.NaN;
    }
    long dt = millis - rateMillis;
    double r = Double.NaN;
    if (dt >= 1000) {
      r = (step - rateStep) * 1000.0 / dt;
      rateStep = step;
      rateMillis = millis;
    } else if (dt < 0) {
      rateStep = step; // a clock that went back (another session's host): start a new window
      rateMillis = millis;
    }
    return r;
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

  /** Bytes of the file parsed so far (what the sidecar did not spare). */
  synchronized long jsonlBytesRead() {
    return tail.bytesRead();
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
