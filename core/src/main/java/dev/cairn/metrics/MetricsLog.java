package dev.cairn.metrics;

import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.store.Fsync;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * metrics.jsonl: the training thread only copies numbers into a preallocated ring of records (no
 * allocation per call in the steady state); one background thread formats and appends JSON lines
 * and fsyncs them as the {@link Durability} says. A torn last line after a crash is cut off when
 * the file is opened again.
 */
public final class MetricsLog implements AutoCloseable {
  /** Most scalars one record may hold. */
  public static final int MAX_KEYS = 32;

  private static final long GROUP_COMMIT_NANOS = 1_000_000_000L;
  private static final int GROUP_COMMIT_RECORDS = 1000;

  /** Sees every record on the writer thread, after it is written (progress, plots). */
  @FunctionalInterface
  public interface Listener {
    void onRecord(long step, long timeMillis, String[] keys, double[] values, int count);
  }

  private final Path file;
  private final FileChannel channel;
  private final SidecarWriter sidecar; // null: none
  private final long startSize;
  private final Durability durability;
  private final OverflowPolicy overflow;
  private final Events events;
  private final Clock clock;
  private final int mask;
  private final long[] steps;
  private final long[] times;
  private final int[] counts;
  private final String[][] keys;
  private final double[][] values;
  private final AtomicLongArray published;
  private final AtomicLong head = new AtomicLong();
  private final AtomicLong synced = new AtomicLong();
  private final Object producer = new Object();
  private final Record record = new Record();
  private final Thread writer;
  private final StringBuilder line = new StringBuilder(256);
  private final ByteBuffer out = ByteBuffer.allocate(1 << 16);
  private volatile long tail;
  private volatile boolean closing;
  private volatile Listener listener;
  private final AtomicLong dropped = new AtomicLong();
  private long droppedReported;
  private final AtomicLong blockedNanos = new AtomicLong();
  private volatile Throwable writerFailure;

  private MetricsLog(
      Path file,
      FileChannel channel,
      SidecarWriter sidecar,
      long startSize,
      Durability durability,
      OverflowPolicy overflow,
      int capacity,
      Events events,
      Clock clock) {
    this.file = file;
    this.channel = channel;
    this.sidecar = sidecar;
    this.startSize = startSize;
    this.durability = durability;
    this.overflow = overflow;
    this.events = events;
    this.clock = clock;
    int cap = Integer.highestOneBit(Math.max(2, capacity - 1)) << 1;
    this.mask = cap - 1;
    this.steps = new long[cap];
    this.times = new long[cap];
    this.counts = new int[cap];
    this.keys = new String[cap][MAX_KEYS];
    this.values = new double[cap][MAX_KEYS];
    this.published = new AtomicLongArray(cap);
    this.writer = new Thread(this::drain, "cairn-metrics-writer");
    writer.setDaemon(true);
    writer.start();
  }

  /**
   * Opens (creating) the file for appending; a torn last line is truncated first.
   *
   * @param capacity records the queue holds before the overflow policy applies
   */
  public static MetricsLog open(
      Path file,
      Durability durability,
      OverflowPolicy overflow,
      int capacity,
      Events events,
      Clock clock)
      throws IOException {
    return open(file, null, durability, overflow, capacity, events, clock);
  }

  /**
   * Opens (creating) the file for appending, as {@link #open(Path, Durability, OverflowPolicy, int,
   * Events, Clock)} does, and keeps a binary sidecar of it at {@code sidecar} (metrics.bin, see
   * {@code MetricsFile}) that readers load far faster than the JSON. The sidecar is written by the
   * background thread only, never synced, and a failure to write it is a warning event: the
   * training thread's cost and metrics.jsonl are the same with or without it.
   *
   * @param sidecar where the sidecar lives; null for none
   */
  public static MetricsLog open(
      Path file,
      Path sidecar,
      Durability durability,
      OverflowPolicy overflow,
      int capacity,
      Events events,
      Clock clock)
      throws IOException {
    boolean created = !java.nio.file.Files.exists(file);
    FileChannel ch =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      long keep = dev.cairn.events.JsonLines.completeLength(ch);
      if (keep < ch.size()) {
        events.emit(
            EventType.WARNING,
            -1,
            "metrics.jsonl ended in a torn line ("
                + (ch.size() - keep)
                + " bytes) from a crash; it was cut off");
        ch.truncate(keep);
        Fsync.channel(ch);
      }
      ch.position(keep);
      if (created && durability != Durability.OS_BUFFERED) {
        // Synced records are only as durable as the file's name in its folder.
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
          Fsync.folder(parent);
        }
      }
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    SidecarWriter side = sidecar == null ? null : new SidecarWriter(sidecar, file, events);
    return new MetricsLog(
        file, ch, side, ch.position(), durability, overflow, capacity, events, clock);
  }

  public Path file() {
    return file;
  }

  public void setListener(Listener listener) {
    this.listener = listener;
  }

  /** Records dropped so far under {@link OverflowPolicy#DROP_AND_COUNT}. */
  public long dropped() {
    return dropped.get();
  }

  /** Logs the given scalars for a step. */
  public void log(long step, Map<String, Double> metrics) {
    Record r = begin(step);
    for (Map.Entry<String, Double> e : metrics.entrySet()) {
      r.put(e.getKey(), e.getValue() == null ? Double.NaN : e.getValue());
    }
    r.commit();
  }

  /**
   * Starts a record without allocating: {@code log.begin(step).put("loss", l).put("lr",
   * lr).commit()}. The returned object is reused; use it from one thread at a time and commit it
   * before the next begin.
   */
  public Record begin(long step) {
    record.start(step);
    return record;
  }

  /** A record being filled; see {@link #begin}. */
  public final class Record {
    private long step;
    private int n;
    private final String[] k = new String[MAX_KEYS];
    private final double[] v = new double[MAX_KEYS];

    void start(long step) {
      this.step = step;
      this.n = 0;
    }

    public Record put(String key, double value) {
      if (n == MAX_KEYS) {
        throw new IllegalArgumentException(
            "a metrics record holds at most " + MAX_KEYS + " values");
      }
      k[n] = key;
      v[n] = value;
      n++;
      return this;
    }

    public void commit() {
      enqueue(step, k, v, n);
    }
  }

  private void enqueue(long step, String[] k, double[] v, int n) {
    if (closing) {
      throw new IllegalStateException("the metrics log is closed");
    }
    long seq;
    synchronized (producer) {
      seq = tail;
      if (seq - head.get() > mask) {
        if (overflow == OverflowPolicy.DROP_AND_COUNT) {
          dropped.incrementAndGet();
          return;
        }
        long start = System.nanoTime();
        while (seq - head.get() > mask && writer.isAlive()) {
          LockSupport.parkNanos(50_000);
        }
        blockedNanos.addAndGet(System.nanoTime() - start);
      }
      int i = (int) (seq & mask);
      steps[i] = step;
      times[i] = clock.millis();
      counts[i] = n;
      System.arraycopy(k, 0, keys[i], 0, n);
      System.arraycopy(v, 0, values[i], 0, n);
      published.lazySet(i, seq + 1);
      tail = seq + 1;
      if (seq - head.get() > (mask >> 1)) {
        LockSupport.unpark(writer); // half full: do not let a parked writer make us wait
      }
    }
    if (durability == Durability.EVERY_RECORD) {
      LockSupport.unpark(writer);
      awaitSynced(seq + 1);
    }
  }

  private void awaitSynced(long count) {
    while (synced.get() < count && writer.isAlive()) {
      LockSupport.parkNanos(20_000);
    }
  }

  /** Waits until every record logged so far is written (and synced unless OS_BUFFERED). */
  public void flush() {
    long target = tail;
    flushRequested = true;
    LockSupport.unpark(writer);
    awaitSynced(target);
  }

  /** Set by flush(): write and sync now instead of at the next group commit. */
  private volatile boolean flushRequested;

  // The writer wakes every 10 ms while records arrive and backs off to 50 ms when idle, and hands
  // bytes to the OS at most every 100 ms (or when its buffer fills, or a sync is due): a training
  // loop logging every step then costs the machine tens of syscalls and wakeups a second, not
  // thousands. On a 2-vCPU VM whose vCPUs are hyperthreads of one core, a writer busy on the
  // sibling slows the training thread measurably.
  private static final long BUSY_PARK_NANOS = 10_000_000L;
  private static final long MAX_IDLE_NANOS = 50_000_000L;
  private static final long WRITE_DELAY_NANOS = 100_000_000L;

  private void drain() {
    try {
      if (sidecar != null) {
        sidecar.start(startSize);
      }
      drainRecords();
      if (sidecar != null && writerFailure == null) {
        sidecar.linesWritten(true); // closed cleanly: every line is written
      }
    } finally {
      if (sidecar != null) {
        sidecar.close();
      }
    }
  }

  private void drainRecords() {
    long idleNanos = BUSY_PARK_NANOS;
    long unsyncedSince = 0;
    long unwrittenSince = 0;
    int unsyncedRecords = 0;
    long written = 0;
    while (true) {
      // Read once per round: close() may set it at any moment, and a round that saw it unset
      // when deciding whether to write the buffer must not see it set when deciding to return
      // (that lost up to 64 KB of formatted records at close).
      boolean closingNow = closing;
      long h = head.get();
      boolean have = h < tail && published.get((int) (h & mask)) == h + 1;
      try {
        if (have) {
          int i = (int) (h & mask);
          format(steps[i], times[i], keys[i], values[i], counts[i]);
          Listener l = listener;
          if (l != null) {
            try {
              l.onRecord(steps[i], times[i], keys[i], values[i], counts[i]);
            } catch (RuntimeException e) {
              events.emit(EventType.MONITORING_FAILED, steps[i], "metrics listener failed: " + e);
            }
          }
          head.lazySet(h + 1);
          written = h + 1;
          idleNanos = BUSY_PARK_NANOS;
          long now = System.nanoTime();
          if (unsyncedRecords++ == 0) {
            unsyncedSince = now;
          }
          if (unwrittenSince == 0) {
            unwrittenSince = now;
          }
          if (durability == Durability.EVERY_RECORD) {
            writeOut();
            Fsync.data(channel);
            synced.set(written);
            unsyncedRecords = 0;
            unwrittenSince = 0;
          }
          continue;
        }
        long now = System.nanoTime();
        boolean syncDue =
            unsyncedRecords > 0
                && (durability == Durability.OS_BUFFERED
                    || unsyncedRecords >= GROUP_COMMIT_RECORDS
                    || now - unsyncedSince >= GROUP_COMMIT_NANOS
                    || closingNow
                    || flushRequested);
        if (out.position() > 0
            && (syncDue || closingNow || now - unwrittenSince >= WRITE_DELAY_NANOS)) {
          writeOut();
          unwrittenSince = 0;
        }
        if (syncDue) {
          if (durability != Durability.OS_BUFFERED) {
            Fsync.data(channel);
          }
          unsyncedRecords = 0;
        }
        if (unsyncedRecords == 0) {
          synced.set(written);
          flushRequested = false;
        }
        if (sidecar != null && out.position() == 0) {
          // Every line is written: a flush makes a block now, an idle job's last records reach
          // one within a second.
          sidecar.linesWritten(flushRequested || closingNow);
        }
        reportDrops();
        if (closingNow && head.get() >= tail) {
          return;
        }
        if (flushRequested || closingNow) {
          continue;
        }
        LockSupport.parkNanos(idleNanos);
        idleNanos = Math.min(MAX_IDLE_NANOS, idleNanos * 2);
      } catch (IOException | RuntimeException e) {
        writerFailure = e;
        events.emit(
            EventType.MONITORING_FAILED, -1, "writing metrics.jsonl failed, metrics stop: " + e);
        return;
      }
    }
  }

  private long blockedReported;

  private void reportDrops() {
    long b = blockedNanos.get();
    if (b > blockedReported) {
      events.emit(
          EventType.QUEUE_OVERFLOW,
          -1,
          String.format(
              java.util.Locale.ROOT,
              "metrics queue full (policy: block): the training thread waited %.1f ms (%.1f ms"
                  + " in all)",
              (b - blockedReported) / 1e6,
              b / 1e6));
      blockedReported = b;
    }
    long d = dropped.get();
    if (d > droppedReported) {
      events.emit(
          EventType.QUEUE_OVERFLOW,
          -1,
          (d - droppedReported) + " metrics records dropped (queue full); " + d + " in all");
      droppedReported = d;
    }
  }

  private void format(long step, long time, String[] k, double[] v, int n) throws IOException {
    line.setLength(0);
    line.append("{\"step\":").append(step).append(",\"time\":\"");
    line.append(Instant.ofEpochMilli(time)).append('"');
    for (int j = 0; j < n; j++) {
      line.append(',');
      quote(k[j]);
      line.append(':');
      if (Double.isFinite(v[j])) {
        line.append(v[j]);
      } else {
        line.append("null");
      }
    }
    line.append("}\n");
    byte[] bytes = line.toString().getBytes(StandardCharsets.UTF_8);
    if (bytes.length > out.remaining()) {
      writeOut();
    }
    if (sidecar != null) {
      sidecar.add(step, time, k, v, n, bytes);
    }
    if (bytes.length > out.capacity()) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        channel.write(b);
      }
      if (sidecar != null) {
        sidecar.linesWritten(false);
      }
    } else {
      out.put(bytes);
    }
  }

  private void quote(String s) {
    line.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        line.append('\\').append(c);
      } else if (c < 0x20) {
        line.append(String.format("\\u%04x", (int) c));
      } else {
        line.append(c);
      }
    }
    line.append('"');
  }

  private void writeOut() throws IOException {
    out.flip();
    while (out.hasRemaining()) {
      channel.write(out);
    }
    out.clear();
    if (sidecar != null) {
      // After the lines its blocks vouch for; at once when a reader is told all is written.
      sidecar.linesWritten(closing || flushRequested);
    }
  }

  /** Total time the training thread waited for room in the queue, in nanoseconds. */
  public long blockedNanos() {
    return blockedNanos.get();
  }

  @Override
  public void close() throws IOException {
    closing = true;
    LockSupport.unpark(writer);
    try {
      writer.join(60_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      Fsync.data(channel);
    } finally {
      channel.close();
    }
    Throwable t = writerFailure;
    if (t != null) {
      throw new IOException("metrics.jsonl could not be written: " + t.getMessage(), t);
    }
  }
}
