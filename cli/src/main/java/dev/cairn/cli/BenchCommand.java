package dev.cairn.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.bench.SaveBenchmark;
import dev.cairn.store.Bytes;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cairn bench}: whole-process benchmarks. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Whole-process benchmarks (see BENCHMARKS.md).",
    subcommands = {
      BenchCommand.Save.class,
      BenchCommand.NdList.class,
      BenchCommand.Checkpoints.class,
      BenchCommand.Log.class,
      BenchCommand.Demo.class,
      BenchCommand.Cache.class,
      BenchCommand.Dashboard.class
    })
final class BenchCommand implements Runnable {
  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code cairn bench save}. */
  @Command(
      name = "save",
      mixinStandardHelpOptions = true,
      description =
          "Durable save and verified restore of SIZE bytes of tensors through the checkpoint"
              + " store; prints medians.")
  static final class Save implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;

    @Mixin Where where;

    @Mixin SaveSizes sizes;

    @Override
    public Integer call() throws IOException {
      long size = sizes.size();
      int repeat = sizes.repeat;
      SaveBenchmark.Result r =
          SaveBenchmark.run(size, sizes.tensors, repeat, where.dir, sizes.dropCaches);
      PrintWriter out = spec.commandLine().getOut();
      ObjectNode o = Json.MAPPER.createObjectNode();
      o.put("bytes", r.bytes());
      o.put("tensors", r.tensors());
      o.put("repeat", repeat);
      o.put("save_seconds", r.saveSeconds());
      o.put("restore_seconds", r.restoreSeconds());
      o.put("stall_seconds", r.stallSeconds());
      o.put("stall_first_seconds", r.stallFirstSeconds());
      o.put("memcpy_seconds", r.memcpySeconds());
      o.put("stall_to_memcpy", r.stallSeconds() / r.memcpySeconds());
      // The first save beside the warm copy (the limit) and beside the first copy into
      // new buffers, which is slower than a warm one: both, so neither flatters the other.
      o.put("memcpy_first_seconds", r.memcpyFirstSeconds());
      o.put("memcpy_alloc_seconds", r.memcpyAllocSeconds());
      o.put("stall_first_to_memcpy", r.stallFirstSeconds() / r.memcpySeconds());
      o.put("stall_first_to_memcpy_first", r.stallFirstSeconds() / r.memcpyFirstSeconds());
      // Where a stall goes: copying the tensors into the staging area, and the manager's rest.
      o.put("stall_copy_seconds", r.stallCopySeconds());
      o.put("stall_outside_copy_seconds", r.stallSeconds() - r.stallCopySeconds());
      o.put("stall_first_copy_seconds", r.stallFirstCopySeconds());
      // The same copy made between the stalls, after the same idle gap: the limit in the stall's
      // own conditions (absent above 4 GiB).
      if (!Double.isNaN(r.memcpyBesideStallsSeconds())) {
        o.put("memcpy_beside_stalls_seconds", r.memcpyBesideStallsSeconds());
        o.put("stall_to_memcpy_beside", r.stallSeconds() / r.memcpyBesideStallsSeconds());
        o.put(
            "stall_first_to_memcpy_beside", r.stallFirstSeconds() / r.memcpyBesideStallsSeconds());
      }
      o.set("stall_runs", Json.MAPPER.valueToTree(r.stallRuns()));
      o.put("save_gb_per_s", r.bytes() / 1e9 / r.saveSeconds());
      o.put("restore_gb_per_s", r.bytes() / 1e9 / r.restoreSeconds());
      o.set("save_runs", Json.MAPPER.valueToTree(r.saveRuns()));
      o.set("restore_runs", Json.MAPPER.valueToTree(r.restoreRuns()));
      o.put("caches_dropped", r.cachesDropped());
      if (where.json) {
        out.println(Json.MAPPER.writeValueAsString(o));
      } else {
        out.printf(
            "%s in %d tensors, median of %d:%n", Bytes.human(r.bytes()), r.tensors(), repeat);
        out.printf(
            "  durable save  %.3f s  (%.2f GB/s)%n",
            r.saveSeconds(), r.bytes() / 1e9 / r.saveSeconds());
        out.printf(
            "  restore       %.3f s  (%.2f GB/s%s)%n",
            r.restoreSeconds(),
            r.bytes() / 1e9 / r.restoreSeconds(),
            r.cachesDropped() ? ", cold cache" : "");
        out.printf(
            "  async stall   %.4f s  (%.2f x one in-memory copy of %.4f s; first save %.4f s)%n",
            r.stallSeconds(),
            r.stallSeconds() / r.memcpySeconds(),
            r.memcpySeconds(),
            r.stallFirstSeconds());
        out.printf(
            "  first stall   %.2f x the warm copy, %.2f x the first copy into new buffers (%.4f s,"
                + " after %.3f s allocating them)%n",
            r.stallFirstSeconds() / r.memcpySeconds(),
            r.stallFirstSeconds() / r.memcpyFirstSeconds(),
            r.memcpyFirstSeconds(),
            r.memcpyAllocSeconds());
      }
      return 0;
    }
  }

  /** {@code cairn bench ndlist}. */
  @Command(
      name = "ndlist",
      mixinStandardHelpOptions = true,
      description =
          "The Java peer of bench save: the same bytes as NDArrays on DJL's PyTorch engine, saved"
              + " with NDList.encode to a file forced to disk and loaded with NDList.decode;"
              + " prints medians.")
  static final class NdList implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;

    @Mixin Where where;

    @Mixin SaveSizes sizes;

    @Override
    public Integer call() throws IOException {
      long size = sizes.size();
      int repeat = sizes.repeat;
      dev.cairn.cli.demo.NdListBenchmark.Result r =
          dev.cairn.cli.demo.NdListBenchmark.run(
              size, sizes.tensors, repeat, where.dir, sizes.dropCaches);
      PrintWriter out = spec.commandLine().getOut();
      if (where.json) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("bytes", r.bytes());
        o.put("tensors", r.tensors());
        o.put("file_bytes", r.fileBytes());
        o.put("repeat", repeat);
        o.put("save_seconds", r.saveSeconds());
        o.put("restore_seconds", r.restoreSeconds());
        o.put("save_gb_per_s", r.bytes() / 1e9 / r.saveSeconds());
        o.put("restore_gb_per_s", r.bytes() / 1e9 / r.restoreSeconds());
        o.set("save_runs", Json.MAPPER.valueToTree(r.saveRuns()));
        o.set("restore_runs", Json.MAPPER.valueToTree(r.restoreRuns()));
        o.put("caches_dropped", r.cachesDropped());
        out.println(Json.MAPPER.writeValueAsString(o));
      } else {
        out.printf(
            java.util.Locale.ROOT,
            "%s in %d arrays, NDList, median of %d:%n  encode + fsync  %.3f s  (%.2f GB/s)%n"
                + "  decode          %.3f s  (%.2f GB/s%s)%n",
            Bytes.human(r.bytes()),
            r.tensors(),
            repeat,
            r.saveSeconds(),
            r.bytes() / 1e9 / r.saveSeconds(),
            r.restoreSeconds(),
            r.bytes() / 1e9 / r.restoreSeconds(),
            r.cachesDropped() ? ", cold cache" : "");
      }
      out.flush();
      return 0;
    }
  }

  /** {@code cairn bench checkpoints}. */
  @Command(
      name = "checkpoints",
      mixinStandardHelpOptions = true,
      description =
          "What a long history costs: a store of N small committed checkpoints, and the median"
              + " time to open it, list it, load the newest valid one, and of a retention pass"
              + " (keep the last N, one more saved): the first after open and a later one;"
              + " one result per N.")
  static final class Checkpoints implements Callable<Integer> {
    @Mixin Where where;

    @Option(
        names = "--counts",
        defaultValue = "10,100,1000",
        split = ",",
        description = "checkpoints in the store (default ${DEFAULT-VALUE})")
    java.util.List<Integer> counts;

    @Option(
        names = "--repeat",
        defaultValue = "5",
        description = "rounds per count (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(
        names = "--tensor-bytes",
        defaultValue = "4096",
        description = "each checkpoint's tensor (default ${DEFAULT-VALUE})")
    int tensorBytes;

    @Option(
        names = "--drop-caches",
        description = "drop the page cache before each open, list and load (needs root)")
    boolean dropCaches;

    @Override
    public Integer call() throws IOException {
      for (int count : counts) {
        dev.cairn.bench.CheckpointCountBenchmark.Result r =
            dev.cairn.bench.CheckpointCountBenchmark.run(
                where.dir, count, repeat, tensorBytes, dropCaches);
        where.report(
            r,
            out ->
                out.printf(
                    java.util.Locale.ROOT,
                    "%5d checkpoints: open %.2f ms, list %.2f ms, load latest valid %.2f ms,"
                        + " retention pass %.2f ms (first after open %.2f ms)"
                        + " (medians of %d; set up in %.1f s)%n",
                    r.checkpoints(),
                    r.openMillis(),
                    r.listMillis(),
                    r.loadLatestMillis(),
                    r.retentionMillis(),
                    r.firstRetentionMillis(),
                    r.repeat(),
                    r.setupSeconds()));
      }
      return 0;
    }
  }

  /** {@code cairn bench log}. */
  @Command(
      name = "log",
      mixinStandardHelpOptions = true,
      description =
          "Training-thread cost of logging one step's scalars (5 by default), median of many"
              + " batches.")
  static final class Log implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;

    @Mixin Where where;

    @Option(names = "--batches", defaultValue = "200", description = "(default ${DEFAULT-VALUE})")
    int batches;

    @Option(
        names = "--calls",
        defaultValue = "10000",
        description = "calls per batch (default ${DEFAULT-VALUE})")
    int calls;

    @Option(
        names = "--scalars",
        defaultValue = "5",
        description =
            "values per call, one step's (default ${DEFAULT-VALUE}); past "
                + dev.cairn.metrics.MetricsLog.MAX_KEYS
                + " they take several records")
    int scalars;

    @Override
    public Integer call() throws IOException {
      if (batches < 1 || calls < 1 || scalars < 1) {
        throw new IllegalArgumentException("--batches, --calls and --scalars must be 1 or more");
      }
      dev.cairn.bench.LogBenchmark.Result r =
          dev.cairn.bench.LogBenchmark.run(where.dir, batches, calls, scalars);
      PrintWriter out = spec.commandLine().getOut();
      if (where.json) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("ns_per_call", r.nsPerCall());
        o.put("p10_ns", r.p10());
        o.put("p90_ns", r.p90());
        o.put("calls", r.calls());
        o.put("scalars_per_call", r.scalars());
        o.put("records_per_call", r.recordsPerCall());
        o.put("ns_per_scalar", r.nsPerScalar());
        o.put("dropped", r.dropped());
        o.put("training_thread_bytes_allocated_per_call", r.allocatedBytesPerCall());
        out.println(Json.MAPPER.writeValueAsString(o));
      } else {
        out.printf(
            java.util.Locale.ROOT,
            "%.1f ns per %d-scalar log call, %.2f ns per scalar (%d record(s) a call; median of %d"
                + " batches; p10 %.1f, p90 %.1f)%n",
            r.nsPerCall(),
            r.scalars(),
            r.nsPerScalar(),
            r.recordsPerCall(),
            batches,
            r.p10(),
            r.p90());
      }
      return 0;
    }
  }

  /** {@code cairn bench demo}. */
  @Command(
      name = "demo",
      mixinStandardHelpOptions = true,
      description =
          "Cairn's cost on the demo's training loop: alternating blocks of steps with Cairn"
              + " attached (metrics every step, a checkpoint every 60 s) and with plain DJL, in"
              + " one process; prints the median slowdown over block pairs.")
  static final class Demo implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;

    @Mixin Where where;

    @Option(
        names = "--steps",
        defaultValue = "20000",
        description = "steps of each kind (default ${DEFAULT-VALUE})")
    long steps;

    @Option(
        names = "--block",
        defaultValue = "200",
        description = "steps per block, a multiple of 100 (default ${DEFAULT-VALUE})")
    int block;

    @Override
    public Integer call() throws IOException {
      if (steps < 2 || block < 1) {
        throw new IllegalArgumentException("--steps must be 2 or more and --block 1 or more");
      }
      PrintWriter out = spec.commandLine().getOut();
      dev.cairn.cli.demo.DemoOverhead.Result r =
          dev.cairn.cli.demo.DemoOverhead.run(steps, block, where.dir, spec.commandLine().getErr());
      if (where.json) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("steps", r.steps());
        o.put("block", r.block());
        o.put("pairs", r.cairn().pairs());
        o.put("plain_steps_per_second", r.cairn().plainStepsPerSecond());
        o.put("cairn_steps_per_second", r.cairn().otherStepsPerSecond());
        o.put("median_ratio", r.cairn().medianRatio());
        o.put("total_ratio", r.cairn().totalRatio());
        o.put("overhead", r.overhead());
        o.put("vs_loss_reading_median_ratio", r.cairnVsLossReading().medianRatio());
        o.put("vs_loss_reading_total_ratio", r.cairnVsLossReading().totalRatio());
        o.put("loss_reading_plain_steps_per_second", r.cairnVsLossReading().plainStepsPerSecond());
        o.put("control_median_ratio", r.control().medianRatio());
        o.put("control_total_ratio", r.control().totalRatio());
        // The training thread's CPU time: what Cairn adds in-thread, blind to waiting for a CPU.
        o.put("cpu_median_ratio", r.cairn().cpuMedianRatio());
        o.put("cpu_extra_us_per_step", r.cairn().extraCpuMicrosPerStep());
        o.put("control_cpu_median_ratio", r.control().cpuMedianRatio());
        o.put("control_cpu_extra_us_per_step", r.control().extraCpuMicrosPerStep());
        out.println(Json.MAPPER.writeValueAsString(o));
      } else {
        out.printf(
            java.util.Locale.ROOT,
            "plain DJL %.1f steps/s, with Cairn %.1f steps/s; overhead %.2f%% (median of %d"
                + " block pairs; %.2f%% over all steps). Against a plain loop reading its loss"
                + " every step: %.2f%%. Control, plain against plain: %.2f%% (%.2f%%). Training"
                + " thread's CPU time with Cairn: %+.2f%% (%+.2f µs a step; control %+.2f%%)%n",
            r.cairn().plainStepsPerSecond(),
            r.cairn().otherStepsPerSecond(),
            r.overhead() * 100,
            r.cairn().pairs(),
            (r.cairn().totalRatio() - 1) * 100,
            (r.cairnVsLossReading().medianRatio() - 1) * 100,
            (r.control().medianRatio() - 1) * 100,
            (r.control().totalRatio() - 1) * 100,
            (r.cairn().cpuMedianRatio() - 1) * 100,
            r.cairn().extraCpuMicrosPerStep(),
            (r.control().cpuMedianRatio() - 1) * 100);
      }
      return 0;
    }
  }

  /** {@code cairn bench cache}. */
  @Command(
      name = "cache",
      mixinStandardHelpOptions = true,
      description =
          "Response cache: hit latency and throughput (1 and 8 threads), a miss against the raw"
              + " HTTP call to a local server and against one fsync on the same disk.")
  static final class Cache implements Callable<Integer> {

    @Mixin Where where;

    @Option(
        names = "--entries",
        defaultValue = "2000",
        description = "distinct requests (default ${DEFAULT-VALUE})")
    int entries;

    @Override
    public Integer call() throws Exception {
      if (entries < 10) {
        throw new IllegalArgumentException("--entries must be at least 10");
      }
      dev.cairn.bench.CacheBenchmark.Result r =
          dev.cairn.bench.CacheBenchmark.run(where.dir, entries);
      where.report(
          r,
          out ->
              out.printf(
                  java.util.Locale.ROOT,
                  "hit %.1f us (median), %.0f hits/s on 1 thread, %.0f on 8; miss %.0f us vs raw call"
                      + " %.0f us and one fsync %.0f us (%d entries)%n",
                  r.hitMicros(),
                  r.hitsPerSecond1(),
                  r.hitsPerSecond8(),
                  r.missMicros(),
                  r.rawCallMicros(),
                  r.fsyncMicros(),
                  r.entries()));
      return 0;
    }
  }

  /** {@code cairn bench dashboard}. */
  @Command(
      name = "dashboard",
      mixinStandardHelpOptions = true,
      description =
          "Dashboard metrics endpoint on a long run: a real run folder and server, max_points=2000,"
              + " the first request to a new server process with and without metrics.bin, against"
              + " one in-memory copy of the series and the downsampling alone.")
  static final class Dashboard implements Callable<Integer> {

    @Mixin Where where;

    @Option(
        names = "--points",
        defaultValue = "1000000",
        description = "logged steps (default ${DEFAULT-VALUE})")
    int points;

    @Option(
        names = "--requests",
        defaultValue = "50",
        description = "warm requests (default ${DEFAULT-VALUE})")
    int requests;

    @Override
    public Integer call() throws Exception {
      if (points < 10_000 || requests < 5) {
        throw new IllegalArgumentException("--points must be at least 10000, --requests 5");
      }
      dev.cairn.bench.DashboardBenchmark.Result r =
          dev.cairn.bench.DashboardBenchmark.run(where.dir, points, requests);
      where.report(
          r,
          out ->
              out.printf(
                  java.util.Locale.ROOT,
                  "%d points (%d held) -> %d (max_points %d, %d bytes): first request to a new"
                      + " server"
                      + " process %.0f ms from metrics.bin (%d bytes; %.0f ms from the process's"
                      + " launch), %.0f ms from metrics.jsonl"
                      + " alone (%d bytes); first request in this process %.0f ms;"
                      + " warm median %.1f ms, with moving average %.1f ms; in-memory copy %.1f ms,"
                      + " downsampling alone %.1f ms (medians of %d)%n",
                  r.points(),
                  r.heldPoints(),
                  r.returnedPoints(),
                  r.maxPoints(),
                  r.responseBytes(),
                  r.coldProcessMillis(),
                  r.sidecarBytes(),
                  r.coldProcessLaunchMillis(),
                  r.coldProcessJsonlMillis(),
                  r.jsonlBytes(),
                  r.coldMillis(),
                  r.warmMedianMillis(),
                  r.warmSmoothMedianMillis(),
                  r.copyMedianMillis(),
                  r.lttbMedianMillis(),
                  requests));
      return 0;
    }
  }

  /** What every bench command takes: where to measure, and whether to print one JSON line. */
  static final class Where {
    @Spec(Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec mixee;

    @Option(
        names = "--dir",
        required = true,
        paramLabel = "DIR",
        description = "a folder on the disk to measure (a temporary sub-folder is used)")
    Path dir;

    @Option(names = "--json", description = "one JSON line")
    boolean json;

    /** The result as one JSON line with --json, otherwise the command's own text. */
    void report(Object result, java.util.function.Consumer<PrintWriter> text)
        throws java.io.IOException {
      PrintWriter out = mixee.commandLine().getOut();
      if (json) {
        out.println(Json.MAPPER.writeValueAsString(result));
      } else {
        text.accept(out);
      }
      out.flush();
    }
  }

  /** The data {@code bench save} and {@code bench ndlist} measure: the same options for both. */
  static final class SaveSizes {
    @Option(
        names = "--bytes",
        required = true,
        paramLabel = "SIZE",
        description = "how much tensor data, like 512MiB or 2GiB")
    String bytes;

    @Option(
        names = "--repeat",
        defaultValue = "3",
        description = "rounds (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(
        names = "--tensors",
        defaultValue = "8",
        description = "how many tensors the bytes are split into (default ${DEFAULT-VALUE})")
    int tensors;

    @Option(
        names = "--drop-caches",
        description = "drop the page cache before each restore (needs root)")
    boolean dropCaches;

    /** The bytes asked for, checked with the tensor count. */
    long size() {
      long size = Bytes.parse(bytes);
      if (size <= 0) {
        throw new IllegalArgumentException("--bytes must be more than 0");
      }
      if (tensors < 1) {
        throw new IllegalArgumentException("--tensors must be 1 or more");
      }
      return size;
    }
  }
}
