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
 * Training-thread cost of logging five scalars: what {@code cairn bench log} prints. Times batches
 * of calls through the allocation-free path into a real metrics.jsonl (group commit) and reports
 * the median batch's nanoseconds per call; the writer thread runs as in training.
 */
public final class LogBenchmark {
  /** Median and spread of nanoseconds per call. */
  public record Result(
      double nsPerCall,
      double p10,
      double p90,
      long calls,
      long dropped,
      double allocatedBytesPerCall) {}

  private LogBenchmark() {}

  public static Result run(Path dir, int batches, int callsPerBatch) throws IOException {
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
            1 << 16,
            Events.NONE,
            Clock.systemUTC())) {
      long step = 0;
      // Warm-up so the JIT has compiled the path before it is timed.
      for (int i = 0; i < 200_000; i++) {
        log5(log, step++);
      }
      for (int b = 0; b < batches; b++) {
        long a0 = threads.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        for (int i = 0; i < callsPerBatch; i++) {
          log5(log, step++);
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
        allocated / (double) calls);
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
