package dev.cairn.cli.demo;

import dev.cairn.manager.DataCursor;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Cairn's cost on the demo's training loop. The same network, data and schedule are trained twice
 * in one process, with plain DJL and as the demo job with Cairn attached (metrics every step, a
 * checkpoint every 60 s, progress, heartbeat and control polling), in alternating blocks of steps
 * on the same thread: each Cairn block is followed by a plain block, so the machine's slow phases
 * hit both alike (whole-run timings on a shared machine vary by ±15%, more than the cost being
 * measured). The overhead is the median over block pairs of (Cairn time / plain time) − 1.
 */
public final class DemoOverhead {
  /**
   * Block timings and their summary.
   *
   * @param cpuMedianRatio the median over block pairs of the training thread's CPU time (other /
   *     plain): unlike wall time, blind to the thread waiting for a CPU on a busy machine
   * @param extraCpuMicrosPerStep the training thread's CPU time per step, other minus plain, in µs:
   *     the in-thread work the other loop adds (Cairn's listener, metrics and triggers)
   */
  public record Pairs(
      double plainStepsPerSecond,
      double otherStepsPerSecond,
      double medianRatio,
      double totalRatio,
      int pairs,
      double cpuMedianRatio,
      double extraCpuMicrosPerStep) {}

  /**
   * @param cairn Cairn-attached blocks against plain blocks
   * @param control plain blocks against plain blocks, alternated the same way: the method's own
   *     bias and noise floor, measured in the same run
   * @param cairnVsLossReading Cairn-attached blocks against plain blocks that read their loss every
   *     step (what any loop logging its loss per step pays without Cairn)
   */
  public record Result(
      long steps, int block, Pairs cairn, Pairs control, Pairs cairnVsLossReading) {
    /** The median per-pair slowdown with Cairn: 0.01 is 1%. */
    public double overhead() {
      return cairn.medianRatio() - 1;
    }
  }

  private DemoOverhead() {}

  public static Result run(long steps, int block, Path dir, PrintWriter log) throws IOException {
    DemoSettings s =
        DemoSettings.defaults().withSteps(steps).withCheckpoints(0, Duration.ofSeconds(60));
    if (block % s.validateEvery() != 0 || steps % block != 0) {
      throw new IllegalArgumentException(
          "--block must be a multiple of " + s.validateEvery() + " and divide --steps");
    }
    Network.configureEngine(s.threads(), EngineCache.resolve(null));
    Path runs = Files.createTempDirectory(Files.createDirectories(dir), "cairn-bench-demo-");
    try {
      Pairs control = measure(s, runs, block, false, false, log);
      Pairs cairn = measure(s, runs, block, true, false, log);
      Pairs vsLoss = measure(s, runs, block, true, true, log);
      return new Result(s.steps(), block, cairn, control, vsLoss);
    } finally {
      dev.cairn.store.Storage.at(runs).deleteTree("");
    }
  }

  private static Pairs measure(
      DemoSettings s,
      Path runs,
      int block,
      boolean withCairn,
      boolean plainReadsLoss,
      PrintWriter log)
      throws IOException {
    List<Long> cairnBlocks = new ArrayList<>();
    List<Long> plainBlocks = new ArrayList<>();
    List<Long> cairnCpu = new ArrayList<>();
    List<Long> plainCpu = new ArrayList<>();
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    DataCursor cursor = new DataCursor("data");
    try (Network plain = new Network(s, Network.adam(s), null)) {
      long[] blockStart = {0};
      long[] blockCpuStart = {0};
      long[] plainStep = {0};
      LongConsumer hook =
          step -> {
            if (step == 0) {
              blockStart[0] = System.nanoTime();
              blockCpuStart[0] = threads.getCurrentThreadCpuTime();
              return;
            }
            if ((step + 1) % block != 0) {
              return;
            }
            long t0 = System.nanoTime();
            long c0 = threads.getCurrentThreadCpuTime();
            cairnBlocks.add(t0 - blockStart[0]);
            cairnCpu.add(c0 - blockCpuStart[0]);
            for (int i = 0; i < block; i++) {
              if (plainReadsLoss) {
                plain.stepReadingLoss(cursor);
              } else {
                plain.step(cursor);
              }
              if (++plainStep[0] % s.validateEvery() == 0) {
                plain.validate();
              }
            }
            long t1 = System.nanoTime();
            plainBlocks.add(t1 - t0);
            plainCpu.add(threads.getCurrentThreadCpuTime() - c0);
            blockStart[0] = System.nanoTime();
            blockCpuStart[0] = threads.getCurrentThreadCpuTime();
          };
      if (withCairn) {
        new DemoJob(s, runs, "overhead-" + plainReadsLoss)
            .saveBest(false)
            .plots(null)
            .afterStep((step, weights) -> hook.accept(step))
            .run();
      } else {
        plainLoop(s, hook);
      }
    }
    // The first pairs warm up the JIT and the engine for both; they are not counted.
    int skip = Math.min(2, cairnBlocks.size() - 1);
    int pairs = cairnBlocks.size() - skip;
    double[] ratios = new double[pairs];
    double[] cpuRatios = new double[pairs];
    long cairnSum = 0;
    long plainSum = 0;
    long cpuDifference = 0;
    for (int i = 0; i < pairs; i++) {
      long c = cairnBlocks.get(i + skip);
      long p = plainBlocks.get(i + skip);
      ratios[i] = c / (double) p;
      cairnSum += c;
      plainSum += p;
      cpuRatios[i] = cairnCpu.get(i + skip) / (double) plainCpu.get(i + skip);
      cpuDifference += cairnCpu.get(i + skip) - plainCpu.get(i + skip);
    }
    double median = median(ratios);
    double cpuMedian = median(cpuRatios);
    double extraCpuMicros = cpuDifference / 1e3 / ((double) pairs * block);
    double cairnRate = pairs * (double) block * 1e9 / cairnSum;
    double plainRate = pairs * (double) block * 1e9 / plainSum;
    log.printf(
        java.util.Locale.ROOT,
        "%d block pairs of %d steps: plain%s %.1f steps/s, %s %.1f steps/s, median ratio %.4f;"
            + " training thread's CPU time: median ratio %.4f, %+.2f µs a step%n",
        pairs,
        block,
        plainReadsLoss ? " (reading its loss)" : "",
        plainRate,
        withCairn ? "cairn" : "plain (control)",
        cairnRate,
        median,
        cpuMedian,
        extraCpuMicros);
    log.flush();
    return new Pairs(
        plainRate,
        cairnRate,
        median,
        cairnSum / (double) plainSum,
        pairs,
        cpuMedian,
        extraCpuMicros);
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    int n = v.length;
    return (n & 1) == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  /** The demo job's loop without Cairn (the control's outer loop): step, validate, hook. */
  private static void plainLoop(DemoSettings s, LongConsumer afterStep) {
    DataCursor cursor = new DataCursor("data");
    try (Network net = new Network(s, Network.adam(s), null)) {
      for (long step = 0; step < s.steps(); step++) {
        net.step(cursor);
        if ((step + 1) % s.validateEvery() == 0 || step + 1 == s.steps()) {
          net.validate();
        }
        afterStep.accept(step);
      }
    }
  }
}
