package dev.cairn.bench;

import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.safetensors.DType;
import dev.cairn.safetensors.Tensor;
import dev.cairn.safetensors.TensorData;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where a cold restore's time goes, and what the disk gives a plain Java reader on the same file.
 * Each measurement starts with a dropped page cache (root only) and prints one JSON line: wall
 * seconds, GB/s, the process's CPU seconds per GiB, CPU seconds per thread (who reads, who checks),
 * bytes this process had read from the disk ({@code /proc/self/io} read_bytes, so read-ahead and
 * O_DIRECT both count), the device's reads in the meantime (average size, average number in flight)
 * and the load average.
 *
 * <p>{@code restore DIR SIZE [REPEAT]}: saves once a checkpoint with a small tensor part "encoder"
 * (8 MiB) and a large one "decoder" (SIZE), then, per repetition: open it (at the load's default
 * verification, sizes), restore the encoder alone, restore the decoder, each timed and counted.
 *
 * <p>{@code disk FILE [REPEAT]}: reads FILE front to back with FileChannel positional reads:
 * O_DIRECT and buffered, 8 or 16 MiB per read, 1 to 4 reads in flight.
 *
 * <p>Run: {@code java -cp cli/target/cairn.jar dev.cairn.bench.RestoreProbe restore DIR 1GiB 3}. It
 * uses only Cairn's public API, so the same source also runs against an older jar for an A/B:
 * {@code java -cp OLD.jar bench/src/main/java/dev/cairn/bench/RestoreProbe.java restore ...}.
 */
public final class RestoreProbe {
  private static final double GIB = 1 << 30;
  private static final int SMALL_PART = 8 << 20;

  private RestoreProbe() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: RestoreProbe restore DIR SIZE [REPEAT] | disk FILE [REPEAT]");
      System.exit(2);
    }
    switch (args[0]) {
      case "restore" ->
          restore(
              Path.of(args[1]),
              parseBytes(args[2]),
              args.length > 3 ? Integer.parseInt(args[3]) : 3);
      case "disk" -> disk(Path.of(args[1]), args.length > 2 ? Integer.parseInt(args[2]) : 1);
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  private static void restore(Path dir, long bytes, int repeat) throws IOException {
    Path root = dir.resolve("probe-" + bytes);
    long step = 1;
    List<ByteBuffer> encoder = random(SMALL_PART, 1);
    List<ByteBuffer> decoder = random(bytes, 8);
    try (CheckpointStore store = CheckpointStore.builder(root).events(e -> {}).open()) {
      if (store.list().isEmpty()) {
        store.save(
            Checkpoint.at(step)
                .tensors("encoder", tensors("e", encoder))
                .tensors("decoder", tensors("d", decoder))
                .build());
      }
      for (int r = 0; r < repeat; r++) {
        Sample s = Sample.start("open", dropPageCache());
        LoadedCheckpoint c = store.load(step, Verification.SIZES);
        try {
          s.stop(0);
          s = Sample.start("restore-encoder", false);
          c.readTensors("encoder", t -> encoder.get(index(t.name())).clear());
          s.stop(SMALL_PART);
          s = Sample.start("restore-decoder", false);
          c.readTensors("decoder", t -> decoder.get(index(t.name())).clear());
          s.stop(bytes);
        } finally {
          c.close();
        }
      }
    }
  }

  private static List<Tensor> tensors(String prefix, List<ByteBuffer> data) {
    List<Tensor> out = new ArrayList<>();
    for (int t = 0; t < data.size(); t++) {
      ByteBuffer b = data.get(t);
      out.add(new Tensor(prefix + t, DType.U8, new long[] {b.capacity()}, TensorData.of(b)));
    }
    return out;
  }

  /** Random bytes in {@code count} direct buffers (its own: a source run sees no package API). */
  private static List<ByteBuffer> random(long bytes, int count) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(42);
    List<ByteBuffer> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int size = (int) (i == count - 1 ? bytes - (count - 1) * (bytes / count) : bytes / count);
      ByteBuffer b = ByteBuffer.allocateDirect(size);
      while (b.remaining() >= 8) {
        b.putLong(r.nextLong());
      }
      while (b.hasRemaining()) {
        b.put((byte) r.nextInt());
      }
      out.add(b.clear());
    }
    return out;
  }

  private static int index(String name) {
    return Integer.parseInt(name.substring(1));
  }

  private static void disk(Path file, int repeat) throws IOException {
    long size = Files.size(file);
    for (int r = 0; r < repeat; r++) {
      for (boolean direct : new boolean[] {true, false}) {
        for (int mib : new int[] {8, 16}) {
          for (int depth : new int[] {1, 2, 4}) {
            String what = (direct ? "direct" : "buffered") + "-" + mib + "MiB-x" + depth;
            Sample s = Sample.start(what, dropPageCache());
            read(file, size, direct, mib << 20, depth);
            s.stop(size);
          }
        }
      }
    }
  }

  /** {@code depth} threads, each reading the next unread block into its own aligned buffer. */
  private static void read(Path file, long size, boolean direct, int block, int depth)
      throws IOException {
    OpenOption[] opts =
        direct
            ? new OpenOption[] {StandardOpenOption.READ, com.sun.nio.file.ExtendedOpenOption.DIRECT}
            : new OpenOption[] {StandardOpenOption.READ};
    try (FileChannel ch = FileChannel.open(file, opts)) {
      AtomicLong next = new AtomicLong();
      List<Thread> threads = new ArrayList<>();
      IOException[] failure = new IOException[1];
      for (int k = 0; k < depth; k++) {
        Thread t =
            new Thread(
                () -> {
                  ByteBuffer buf =
                      ByteBuffer.allocateDirect(block + 4096).alignedSlice(4096).limit(block);
                  try {
                    for (long pos = next.getAndAdd(block);
                        pos < size;
                        pos = next.getAndAdd(block)) {
                      buf.clear().limit(block);
                      while (buf.hasRemaining() && pos + buf.position() < size) {
                        if (ch.read(buf, pos + buf.position()) < 0) {
                          break;
                        }
                      }
                    }
                  } catch (IOException e) {
                    synchronized (failure) {
                      failure[0] = e;
                    }
                  }
                },
                "probe-reader-" + k);
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        try {
          t.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException();
        }
      }
      synchronized (failure) {
        if (failure[0] != null) {
          throw failure[0];
        }
      }
    }
  }

  /** One measurement: wall, CPU (process and per thread), bytes read, the device's reads. */
  private static final class Sample {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final com.sun.management.OperatingSystemMXBean OS =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private final String what;
    private final boolean dropped;
    private final long[] disk;
    private final long readBytes;
    private final long cpu;
    private final Map<Long, Long> threadCpu;
    private final long start;
    private final Map<String, long[]> ticks;

    private Sample(String what, boolean dropped) throws IOException {
      this.ticks = taskTicks();
      this.what = what;
      this.dropped = dropped;
      this.threadCpu = threadCpu();
      this.disk = diskstats();
      this.readBytes = readBytes();
      this.cpu = OS.getProcessCpuTime();
      this.start = System.nanoTime();
    }

    static Sample start(String what, boolean dropped) throws IOException {
      return new Sample(what, dropped);
    }

    void stop(long bytes) throws IOException {
      long wall = System.nanoTime() - start;
      long cpuNow = OS.getProcessCpuTime();
      long read = readBytes() - readBytes;
      long[] d = diskstats();
      Map<String, Double> perThread = new TreeMap<>();
      for (Map.Entry<Long, Long> e : threadCpu().entrySet()) {
        long used = e.getValue() - threadCpu.getOrDefault(e.getKey(), 0L);
        if (used > 1_000_000) {
          var info = THREADS.getThreadInfo(e.getKey());
          String name = info == null ? "gone" : info.getThreadName().replaceAll("-\\d+$", "-N");
          perThread.merge(name, used / 1e9, Double::sum);
        }
      }
      StringBuilder sys = new StringBuilder("{");
      for (Map.Entry<String, long[]> e : taskTicks().entrySet()) {
        long[] was = ticks.getOrDefault(e.getKey(), new long[2]);
        long u = e.getValue()[0] - was[0];
        long k = e.getValue()[1] - was[1];
        if (u + k > 0) {
          sys.append(sys.length() > 1 ? "," : "")
              .append(
                  String.format(
                      Locale.ROOT, "\"%s\":[%.2f,%.2f]", e.getKey(), u / 100.0, k / 100.0));
        }
      }
      sys.append('}');
      long reads = d[0] - disk[0];
      double secs = wall / 1e9;
      StringBuilder threads = new StringBuilder("{");
      perThread.forEach(
          (k, v) ->
              threads
                  .append(threads.length() > 1 ? "," : "")
                  .append(String.format(Locale.ROOT, "\"%s\":%.3f", k, v)));
      threads.append('}');
      System.out.printf(
          Locale.ROOT,
          "{\"what\":\"%s\",\"bytes\":%d,\"cold\":%b,\"seconds\":%.4f,\"gb_per_s\":%.3f,"
              + "\"cpu_seconds\":%.3f,\"cpu_s_per_gib\":%.3f,\"thread_cpu_seconds\":%s,"
              + "\"thread_user_sys_seconds\":%s,"
              + "\"read_bytes\":%d,\"disk_reads\":%d,\"disk_read_kib_avg\":%.0f,"
              + "\"disk_reads_in_flight_avg\":%.2f,\"anon_huge_kib\":%d,\"loadavg\":\"%s\"}%n",
          what,
          bytes,
          dropped,
          secs,
          bytes / 1e9 / secs,
          (cpuNow - cpu) / 1e9,
          bytes == 0 ? 0 : (cpuNow - cpu) / 1e9 / (bytes / GIB),
          threads,
          sys,
          read,
          reads,
          reads == 0 ? 0 : (d[1] - disk[1]) * 512.0 / 1024 / reads,
          (d[2] - disk[2]) / 1e3 / secs,
          anonHugeKib(),
          loadavg());
      System.out.flush();
    }

    /** User and system ticks (1/100 s) per thread name, summed over threads of one name. */
    private static Map<String, long[]> taskTicks() throws IOException {
      Map<String, long[]> out = new TreeMap<>();
      try (var tasks = Files.list(Path.of("/proc/self/task"))) {
        for (Path t : (Iterable<Path>) tasks::iterator) {
          try {
            String stat = Files.readString(t.resolve("stat"));
            String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long[] v = out.computeIfAbsent(name.replaceAll("-\\d+$", "-N"), n -> new long[2]);
            v[0] += Long.parseLong(f[11]);
            v[1] += Long.parseLong(f[12]);
          } catch (IOException | RuntimeException gone) {
            // a thread that ended meanwhile
          }
        }
      }
      return out;
    }

    private static Map<Long, Long> threadCpu() {
      Map<Long, Long> out = new HashMap<>();
      for (long id : THREADS.getAllThreadIds()) {
        long t = THREADS.getThreadCpuTime(id);
        if (t >= 0) {
          out.put(id, t);
        }
      }
      return out;
    }
  }

  /** Reads completed, sectors read and milliseconds spent reading, summed over whole disks. */
  private static long[] diskstats() throws IOException {
    long[] out = new long[3];
    for (String line : Files.readAllLines(Path.of("/proc/diskstats"))) {
      String[] f = line.trim().split("\\s+");
      boolean wholeDisk =
          f.length > 7
              && Files.exists(Path.of("/sys/block", f[2], "device"))
              && !f[2].startsWith("zram");
      if (wholeDisk) {
        out[0] += Long.parseLong(f[3]);
        out[1] += Long.parseLong(f[5]);
        out[2] += Long.parseLong(f[6]);
      }
    }
    return out;
  }

  private static long readBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
      if (line.startsWith("read_bytes:")) {
        return Long.parseLong(line.substring("read_bytes:".length()).trim());
      }
    }
    return -1;
  }

  /**
   * The process's memory in transparent huge pages (AnonHugePages of {@code
   * /proc/self/smaps_rollup}), -1 where unknown: whether the launcher's glibc tunable took effect,
   * which decides how large the restore's requests to the disk can be.
   */
  private static long anonHugeKib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/smaps_rollup"))) {
        if (line.startsWith("AnonHugePages:")) {
          return Long.parseLong(line.replaceAll("\\D+", ""));
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }

  private static String loadavg() throws IOException {
    String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
    return f[0] + " " + f[1] + " " + f[2];
  }

  /**
   * SaveBenchmark's rule, copied: this source also runs against older jars (the A/B in
   * BENCHMARKS.md), where that method is private.
   */
  private static boolean dropPageCache() {
    try {
      new ProcessBuilder("sync").inheritIO().start().waitFor();
      Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
      return true;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static long parseBytes(String s) {
    String t = s.trim().toUpperCase(Locale.ROOT);
    long unit = 1;
    for (String[] u : new String[][] {{"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"}}) {
      if (t.endsWith(u[0])) {
        unit = Long.parseLong(u[1]);
        t = t.substring(0, t.length() - u[0].length());
        break;
      }
    }
    return Long.parseLong(t.trim()) * unit;
  }
}
