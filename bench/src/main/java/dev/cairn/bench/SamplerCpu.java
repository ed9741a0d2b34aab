package dev.cairn.bench;

import dev.cairn.events.Events;
import dev.cairn.events.JsonLines;
import dev.cairn.system.SystemSampler;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/**
 * CPU time of the system sampler, the way the 0.1%-of-a-core budget counts it: the process's own
 * CPU time (sampler thread, JIT, GC) and its children's (nvidia-smi) over N samples, taken back to
 * back. The first samples are timed apart, because at one sample per 10 s the sampler stays cold
 * (interpreted) for hours. Run: {@code java -cp cli/target/cairn.jar dev.cairn.bench.SamplerCpu DIR
 * [N] [PATH]}; prints one JSON line.
 */
public final class SamplerCpu {
  private static final int COLD = 100;

  private SamplerCpu() {}

  public static void main(String[] args) throws IOException {
    Path dir = Files.createDirectories(Path.of(args[0]));
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
    String path = args.length > 2 ? args[2] : "";
    Path file = Files.createTempFile(dir, "bench-system-", ".jsonl");
    var os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    try (JsonLines out = JsonLines.open(file, false)) {
      SystemSampler sampler =
          new SystemSampler(dir, out, Clock.systemUTC(), path, Events.NONE, () -> 0L);
      long p0 = os.getProcessCpuTime();
      long c0 = childrenCpuNanos();
      for (int i = 0; i < COLD; i++) {
        sampler.sample();
      }
      long p1 = os.getProcessCpuTime();
      long c1 = childrenCpuNanos();
      for (int i = 0; i < n; i++) {
        sampler.sample();
      }
      long p2 = os.getProcessCpuTime();
      long c2 = childrenCpuNanos();
      double coldUs = ((p1 - p0) + (c1 - c0)) / 1e3 / COLD;
      double warmUs = ((p2 - p1) + (c2 - c1)) / 1e3 / n;
      // At one sample per 10 s, the fraction of one core is (CPU seconds per sample) / 10.
      System.out.printf(
          "{\"samples\":%d,\"gpu_path\":\"%s\",\"cold_cpu_us_per_sample\":%.1f,"
              + "\"warm_cpu_us_per_sample\":%.1f,\"children_cpu_us_per_sample\":%.1f,"
              + "\"cold_core_fraction_at_10s\":%.7f,\"warm_core_fraction_at_10s\":%.7f}%n",
          n,
          path,
          coldUs,
          warmUs,
          (c2 - c0) / 1e3 / (n + COLD),
          coldUs / 1e6 / 10,
          warmUs / 1e6 / 10);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** User and system time of reaped children (/proc/self/stat cutime and cstime), in ns. */
  private static long childrenCpuNanos() throws IOException {
    String stat = Files.readString(Path.of("/proc/self/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // After "pid (comm) ", field 3 (state) is f[0]; cutime and cstime are fields 16 and 17.
    long ticks = Long.parseLong(f[13]) + Long.parseLong(f[14]);
    return ticks * 10_000_000L; // USER_HZ is 100 on Linux
  }
}
