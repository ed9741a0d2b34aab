package dev.cairn.bench;

import dev.cairn.events.Events;
import dev.cairn.metrics.Durability;
import dev.cairn.metrics.MetricsLog;
import dev.cairn.metrics.OverflowPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;

/**
 * Training-thread cost of logging one step's scalars: what {@code cairn bench log} prints. Times
 * batches of calls through the allocation-free path into a real metrics.jsonl (group commit) and
 * reports the median batch's nanoseconds per call; the writer thread runs as in training. A call
 * logs {@code scalars} values (5 by default); past {@link MetricsLog#MAX_KEYS} a step's values take
 * several records of at most that many, as a training loop has to log them.
 */
public final class LogBenchmark {
  /**
   * Median and spread of nanoseconds per call (one step's {@code scalars} values, in {@code
   * recordsPerCall} records).
   */
  public record Result(
      double nsPerCall,
      double p10,
      double p90,
      long calls,
      long dropped,
      double allocatedBytesPerCall,
      int scalars,
      int recordsPerCall) {
    /** The median cost of one value. */
    public double nsPerScalar() {
      return nsPerCall / scalars;
    }
  }

  private LogBenchmark() {}

  /**
   * Five scalars per call, as a typical loop logs (loss, validation loss and accuracy, lr, norm).
   */
  public static Result run(Path dir, int batches, int callsPerBatch) throws IOException {
    return run(dir, batches, callsPerBatch, 5);
  }

  /**
   * Times {@code batches} batches of {@code callsPerBatch} calls, each logging {@code scalars}
   * values for one step.
   */
  public static Result run(Path dir, int batches, int callsPerBatch, int scalars)
      throws IOException {
    if (scalars < 1) {
      throw new IllegalArgumentException("--scalars must be 1 or more");
    }
    Scalars values = new Scalars(scalars);
    // The queue holds a batch's records, so a batch measures the call, not a wait for the writer.
    int capacity = Math.max(1 << 16, callsPerBatch * values.records());
    Files.createDirectories(dir);
    Path file = Files.createTempFile(dir, "bench-metrics-", ".jsonl");
    double[] ns = new double[batches];
    long dropped;
    long allocated = 0;
    var threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    try (MetricsLog log =
        MetricsLog.open(
            file,
            sidecar(file), // as a run keeps one: the writer thread's work is part of the cost
            Durability.GROUP_COMMIT,
            OverflowPolicy.BLOCK,
            capacity,
            Events.NONE,
            Clock.systemUTC())) {
      long step = 0;
      // Warm-up so the JIT has compiled the path before it is timed.
      for (int i = 0; i < 200_000; i++) {
        values.log(log, step++);
        if (i % callsPerBatch == callsPerBatch - 1) {
          log.flush();
        }
      }
      for (int b = 0; b < batches; b++) {
        long a0 = threads.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        for (int i = 0; i < callsPerBatch; i++) {
          values.log(log, step++);
        }
        ns[b] = (System.nanoTime() - t0) / (double) callsPerBatch;
        allocated += threads.getCurrentThreadAllocatedBytes() - a0;
        // Let the writer drain, as between training steps, so batches measure the call itself.
        log.flush();
      }
      dropped = log.dropped();
    } finally {
      Files.deleteIfExists(file);
      Files.deleteIfExists(sidecar(file));
    }
    Arrays.sort(ns);
    long calls = (long) batches * callsPerBatch;
    return new Result(
        ns[batches / 2],
        ns[batches / 10],
        ns[batches * 9 / 10],
        calls,
        dropped,
        allocated / (double) calls,
        scalars,
        values.records());
  }

  /**
   * One step's values, {@code m0} to {@code m<n-1>}, logged in records of at most {@link
   * MetricsLog#MAX_KEYS}; names and values are made once, so a call allocates nothing.
   */
  static final class Scalars {
    private final String[] names;
    private final double[] values;

    Scalars(int n) {
      names = new String[n];
      values = new double[n];
      for (int i = 0; i < n; i++) {
        names[i] = "m" + i;
        values[i] = 1.0 / (i + 1);
      }
    }

    /** Records per step. */
    int records() {
      return (names.length + MetricsLog.MAX_KEYS - 1) / MetricsLog.MAX_KEYS;
    }

    void log(MetricsLog log, long step) {
      for (int from = 0; from < names.length; from += MetricsLog.MAX_KEYS) {
        MetricsLog.Record r = log.begin(step);
        int to = Math.min(names.length, from + MetricsLog.MAX_KEYS);
        for (int i = from; i < to; i++) {
          r.put(names[i], values[i]);
        }
        r.commit();
      }
    }
  }

  static void log5(MetricsLog log, long step) {
    log.begin(step)
        .put("loss", 1.0 / (step + 1))
        .put("val_loss", 0.5)
        .put("val_accuracy", 0.9)
        .put("lr", 1e-3)
        .put("grad_norm", 2.5)
        .commit();
  }

  /** Where the metrics.bin of {@code file} lives. */
  static java.nio.file.Path sidecar(java.nio.file.Path file) {
    return file.resolveSibling(file.getFileName() + ".bin");
  }
}
