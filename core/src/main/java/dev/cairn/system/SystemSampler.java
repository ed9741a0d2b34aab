package dev.cairn.system;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.events.JsonLines;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * One sample of the machine and this process per call, appended to the run's system.jsonl as one
 * flat JSON object (units in the names, so each key is one chart):
 *
 * <pre>
 * time, step, process_cpu_percent (100 = one core busy), machine_cpu_percent (all cores),
 * rss_bytes, heap_used_bytes, heap_committed_bytes, heap_max_bytes, gc_seconds, gc_count
 * (both since the JVM started), disk_free_bytes, disk_total_bytes (the run folder's file
 * system), disk_write_bytes and write_call_bytes (since the process started: what reached
 * storage, and what write calls were given; Linux only), and per NVIDIA GPU N:
 * gpuN_name, gpuN_utilization_percent, gpuN_memory_used_bytes, gpuN_memory_total_bytes,
 * gpuN_temperature_celsius, gpuN_power_watts
 * </pre>
 *
 * A value that cannot be read here is left out, never written as 0. GPUs come from {@code
 * nvidia-smi} when it is on the PATH given; without it there are no gpu keys. Call {@link #sample}
 * from one background thread; it never throws: a failure is one {@code monitoring_failed} event
 * (repeated only when the message changes) and the rest of the sample is still written.
 */
public final class SystemSampler {
  private final Path runDir;
  private final JsonLines out;
  private final Clock clock;
  private final Events events;
  private final LongSupplier step;
  private final ProcReader proc;
  private final Optional<GpuQuery> gpus;
  private final com.sun.management.OperatingSystemMXBean os;
  private long lastMillis = -1;
  private long lastProcessCpuNanos;
  private long[] lastMachine;
  private String lastError;

  /**
   * @param out where samples go (the run's system.jsonl)
   * @param path a PATH value to look for nvidia-smi in (usually the environment's PATH)
   * @param step the run's current step, written beside each sample
   */
  public SystemSampler(
      Path runDir, JsonLines out, Clock clock, String path, Events events, LongSupplier step) {
    this(runDir, out, clock, path, events, step, Path.of("/proc"));
  }

  SystemSampler(
      Path runDir,
      JsonLines out,
      Clock clock,
      String path,
      Events events,
      LongSupplier step,
      Path proc) {
    this.runDir = runDir;
    this.out = out;
    this.clock = clock;
    this.events = events;
    this.step = step;
    this.proc = new ProcReader(proc);
    this.gpus = GpuQuery.find(path);
    this.os = osBean();
  }

  private static com.sun.management.OperatingSystemMXBean osBean() {
    return ManagementFactory.getOperatingSystemMXBean()
            instanceof com.sun.management.OperatingSystemMXBean b
        ? b
        : null;
  }

  /** Takes one sample, appends it, and returns it. */
  public ObjectNode sample() {
    long now = clock.millis();
    ObjectNode s = JsonNodeFactory.instance.objectNode();
    s.put("time", Instant.ofEpochMilli(now).toString());
    s.put("step", step.getAsLong());
    try {
      cpu(s, now);
      memory(s);
      disk(s);
    } catch (IOException | RuntimeException e) {
      report("system metrics: " + e);
    }
    gpus.ifPresent(
        q -> {
          try {
            for (GpuQuery.Gpu g : q.query()) {
              String p = "gpu" + g.index() + "_";
              s.put(p + "name", g.name());
              put(s, p + "utilization_percent", g.utilizationPercent());
              put(s, p + "memory_used_bytes", g.memoryUsedBytes());
              put(s, p + "memory_total_bytes", g.memoryTotalBytes());
              put(s, p + "temperature_celsius", g.temperatureCelsius());
              put(s, p + "power_watts", g.powerWatts());
            }
          } catch (IOException | RuntimeException e) {
            report("GPU metrics from " + q.executable() + ": " + e.getMessage());
          }
        });
    try {
      out.append(s);
    } catch (IOException e) {
      report("writing " + out.file().getFileName() + " failed: " + e);
    }
    lastMillis = now;
    return s;
  }

  private void cpu(ObjectNode s, long now) {
    int cpus = Runtime.getRuntime().availableProcessors();
    if (os != null) {
      long cpuNanos = os.getProcessCpuTime();
      long wallNanos;
      long usedNanos;
      if (lastMillis < 0) { // first sample: the average since the JVM started
        wallNanos = ManagementFactory.getRuntimeMXBean().getUptime() * 1_000_000L;
        usedNanos = cpuNanos;
      } else {
        wallNanos = (now - lastMillis) * 1_000_000L;
        usedNanos = cpuNanos - lastProcessCpuNanos;
      }
      if (cpuNanos >= 0 && wallNanos > 0) {
        put(s, "process_cpu_percent", round(100.0 * usedNanos / wallNanos));
      }
      lastProcessCpuNanos = cpuNanos;
    }
    long[] m = proc.machineCpu();
    if (m != null) {
      long[] base = lastMachine == null ? new long[] {0, 0} : lastMachine;
      long total = m[1] - base[1];
      if (total > 0) {
        put(s, "machine_cpu_percent", round(100.0 * (m[0] - base[0]) / total));
      }
      lastMachine = m;
    } else if (os != null && os.getCpuLoad() >= 0) {
      put(s, "machine_cpu_percent", round(100.0 * os.getCpuLoad()));
    }
    s.put("cpus", cpus);
  }

  private void memory(ObjectNode s) {
    long rss = proc.rssBytes();
    if (rss >= 0) {
      s.put("rss_bytes", rss);
    }
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    s.put("heap_used_bytes", heap.getUsed());
    s.put("heap_committed_bytes", heap.getCommitted());
    if (heap.getMax() > 0) {
      s.put("heap_max_bytes", heap.getMax());
    }
    long gcMillis = 0;
    long gcCount = 0;
    List<GarbageCollectorMXBean> gcs = ManagementFactory.getGarbageCollectorMXBeans();
    for (GarbageCollectorMXBean gc : gcs) {
      gcMillis += Math.max(0, gc.getCollectionTime());
      gcCount += Math.max(0, gc.getCollectionCount());
    }
    s.put("gc_seconds", gcMillis / 1000.0);
    s.put("gc_count", gcCount);
  }

  private void disk(ObjectNode s) throws IOException {
    FileStore store = Files.getFileStore(runDir);
    s.put("disk_free_bytes", store.getUsableSpace());
    s.put("disk_total_bytes", store.getTotalSpace());
    long written = proc.io("write_bytes");
    if (written >= 0) {
      s.put("disk_write_bytes", written);
    }
    long calls = proc.io("wchar");
    if (calls >= 0) {
      s.put("write_call_bytes", calls);
    }
  }

  private static void put(ObjectNode s, String key, double v) {
    if (!Double.isFinite(v)) {
      return;
    }
    if (v == Math.rint(v) && Math.abs(v) < 1L << 53) {
      s.put(key, (long) v); // 42, not 42.0; bytes as integers
    } else {
      s.put(key, v);
    }
  }

  private static double round(double v) {
    return Math.round(v * 10) / 10.0;
  }

  private void report(String message) {
    if (!message.equals(lastError)) {
      events.emit(EventType.MONITORING_FAILED, -1, message);
      lastError = message;
    }
  }
}
