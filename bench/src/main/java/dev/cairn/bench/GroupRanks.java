package dev.cairn.bench;

import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.Coordinators;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Rank 0's side of a group for {@link GroupSaveBenchmark}: its coordinator, the JVMs of ranks 1 to
 * N-1 ({@link Rank}), and the checkpoint store every rank has open on the same folder. Rank 0 leads
 * each save: it tells the others what to save, every rank passes a barrier, and every rank saves.
 * The benchmark's own calls go on the coordinator's main channel; the store's on its own.
 */
final class GroupRanks implements AutoCloseable {
  /** Longer than any raw write rank 0 does while the others wait for the next save. */
  private static final Duration WAIT = Duration.ofMinutes(30);

  private static final String NEXT = "bench-next";
  private static final String GO = "bench-go";
  private static final String SAVED = "bench-saved";
  private static final String WRITTEN = "bench-written";
  private static final long STOP = -1;

  /** What {@link #NEXT} asks of every rank: a save of its tiny or full share, or a raw write. */
  private static final byte TINY = 0;

  private static final byte FULL = 1;
  private static final byte RAW = 2;

  private final Coordinator coordinator;
  private final List<Process> others;
  private final CheckpointStore store;
  private final Storage storage;
  private final Timeline timeline;
  private long step;

  private GroupRanks(
      Coordinator coordinator,
      List<Process> others,
      CheckpointStore store,
      Storage storage,
      Timeline timeline) {
    this.coordinator = coordinator;
    this.others = others;
    this.store = store;
    this.storage = storage;
    this.timeline = timeline;
  }

  /** Rank {@code rank}'s share of the total bytes: rank 0 takes what does not divide evenly. */
  static long share(int rank, int n, GroupSaveBenchmark.Options o) {
    return o.totalBytes() / n + (rank == 0 ? o.totalBytes() % n : 0);
  }

  /**
   * Starts ranks 1 to {@code n - 1} and opens the store on {@code folder} with them (a group of one
   * is the store alone, without a coordinator); returns once every rank has it open.
   */
  static GroupRanks start(GroupBackend backend, String folder, int n, GroupSaveBenchmark.Options o)
      throws IOException {
    Timeline timeline = Timeline.enabled() ? new Timeline() : null;
    Storage storage = backend.storage(folder);
    Storage traced = timeline == null ? storage : timeline.wrap(storage);
    if (n == 1) {
      CheckpointStore alone = CheckpointStore.builder(traced).events(e -> {}).open();
      return new GroupRanks(Coordinators.single(), List.of(), alone, storage, timeline);
    }
    int port = freePort();
    Coordinator c = Coordinators.fromEnvironment(environment(0, n, port));
    List<Process> others = new ArrayList<>();
    try {
      for (int r = 1; r < n; r++) {
        others.add(launch(r, n, port, backend.locate(folder), o));
      }
      // A rank that dies before it joins would keep rank 0 waiting for the group's timeout;
      // leaving the group fails whatever rank 0 waits on at once instead.
      for (Process p : others) {
        p.onExit()
            .thenRun(
                () -> {
                  if (p.exitValue() != 0) {
                    c.close();
                  }
                });
      }
      CheckpointStore store =
          CheckpointStore.builder(traced).coordinator(c).groupTimeout(WAIT).events(e -> {}).open();
      return new GroupRanks(c, others, store, storage, timeline);
    } catch (IOException | RuntimeException e) {
      c.close();
      IOException failure = withExits(others, e);
      others.forEach(Process::destroyForcibly);
      throw failure;
    }
  }

  /**
   * Every rank saves the next step, with its full share ({@code full}) or its tiny one; returns the
   * seconds from the barrier every rank passes just before saving to rank 0's save returning.
   * Returns once every rank's save has returned.
   *
   * @param mine rank 0's share
   */
  double save(List<ByteBuffer> mine, boolean full) throws IOException {
    step++;
    try {
      coordinator.broadcast(NEXT, next(step, full ? FULL : TINY), WAIT);
      Checkpoint c = RemoteSaveBenchmark.checkpoint(step, mine);
      coordinator.barrier(GO, WAIT);
      if (timeline != null) {
        timeline.go();
      }
      long start = System.nanoTime();
      store.save(c);
      double seconds = (System.nanoTime() - start) / 1e9;
      if (timeline != null && full) {
        System.err.println(timeline.json(0, step));
      }
      // Untimed: the other ranks return after rank 0 (each reads the published manifest back), and
      // nothing may delete the step or load the disk before they have.
      coordinator.barrier(SAVED, WAIT);
      return seconds;
    } catch (IOException | RuntimeException e) {
      throw withExits(others, e);
    }
  }

  /**
   * Every rank writes its full share raw, at once, each in its own JVM with {@link
   * GroupBackend#rawWriter} ({@code mine} is rank 0's): what the machine gives N writers without
   * Cairn. Returns the seconds from the barrier every rank passes just before writing to the
   * barrier every rank passes once its file is durable; each file is deleted after, untimed.
   */
  double rawSave(GroupBackend.RawWriter mine) throws IOException {
    step++;
    try {
      coordinator.broadcast(NEXT, next(step, RAW), WAIT);
      coordinator.barrier(GO, WAIT);
      long start = System.nanoTime();
      String name = rawName(0, step);
      if (timeline != null) {
        timeline.go();
      }
      double took = mine.write(name);
      if (timeline != null) {
        System.err.println(timeline.rawJson(0, step, took));
      }
      coordinator.barrier(WRITTEN, WAIT);
      double seconds = (System.nanoTime() - start) / 1e9;
      mine.delete(name);
      coordinator.barrier(SAVED, WAIT);
      return seconds;
    } catch (IOException | RuntimeException e) {
      throw withExits(others, e);
    }
  }

  private static String rawName(int rank, long step) {
    return "rank-" + rank + "-" + step;
  }

  /**
   * {@code e}, naming the ranks whose JVM has ended: when one dies, rank 0 leaves the group, and
   * its own failure ("the coordinator is closed") would not say why.
   */
  private static IOException withExits(List<Process> others, Exception e) {
    StringBuilder ended = new StringBuilder();
    for (int r = 1; r <= others.size(); r++) {
      Process p = others.get(r - 1);
      if (!p.isAlive()) {
        ended.append(ended.length() == 0 ? "" : ", ").append("rank ").append(r);
        ended.append(" exited with ").append(p.exitValue());
      }
    }
    if (ended.length() == 0 && e instanceof IOException io) {
      return io;
    }
    String why = ended.length() == 0 ? "" : ended + " (its errors are above): ";
    return new IOException(why + e.getMessage(), e);
  }

  /** Deletes every checkpoint of the group (outside any timing; the others wait meanwhile). */
  void deleteSteps() throws IOException {
    deleteSteps(store, storage);
  }

  /** Deletes every checkpoint of {@code store}, whose storage is {@code storage}. */
  static void deleteSteps(CheckpointStore store, Storage storage) throws IOException {
    for (CheckpointInfo info : store.list()) {
      storage.deleteTree(SaveBenchmark.folderName(info.folder()));
    }
  }

  /** Tells the other ranks to stop, closes the store, leaves the group and waits for the JVMs. */
  @Override
  public void close() throws IOException {
    try {
      if (!others.isEmpty()) {
        coordinator.broadcast(NEXT, next(STOP, TINY), Duration.ofMinutes(1));
      }
    } catch (IOException | RuntimeException e) {
      // The group broke earlier: the other ranks fail on their own once rank 0 leaves.
    } finally {
      try {
        store.close();
      } finally {
        coordinator.close();
      }
    }
    IOException failed = null;
    for (int r = 1; r <= others.size(); r++) {
      Process p = others.get(r - 1);
      try {
        if (!p.waitFor(1, TimeUnit.MINUTES)) {
          p.destroyForcibly();
          failed = first(failed, new IOException("rank " + r + " did not exit; killed it"));
        } else if (p.exitValue() != 0) {
          failed = first(failed, new IOException("rank " + r + " exited with " + p.exitValue()));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        others.forEach(Process::destroyForcibly);
        throw new InterruptedIOException("interrupted while waiting for rank " + r + " to exit");
      }
    }
    if (failed != null) {
      throw failed;
    }
  }

  private static IOException first(IOException failed, IOException next) {
    if (failed == null) {
      return next;
    }
    failed.addSuppressed(next);
    return failed;
  }

  private static byte[] next(long step, byte what) {
    return ByteBuffer.allocate(9).putLong(step).put(what).array();
  }

  /** What {@link Coordinators#fromEnvironment} reads: a launcher's variables for one rank. */
  private static Map<String, String> environment(int rank, int n, int port) {
    return Map.of(
        Coordinators.RANK, String.valueOf(rank),
        Coordinators.WORLD_SIZE, String.valueOf(n),
        Coordinators.MASTER_ADDR, "127.0.0.1",
        Coordinators.CAIRN_COORD_PORT, String.valueOf(port));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Starts rank {@code rank}'s JVM on this classpath, with this JVM's system properties. */
  private static Process launch(
      int rank, int n, int port, List<String> located, GroupSaveBenchmark.Options o)
      throws IOException {
    long share = share(rank, n, o);
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // The share again as heap arrays when it is written raw to HDFS (GroupBackend.rawWriter).
    String heap = ((share >> 20) + 1024) + "m";
    cmd.add("-Xmx" + heap);
    // And the whole heap committed from the start, the same for both sides. The HDFS client
    // allocates a new 64 KiB packet for every 64 KiB written; after the System.gc() before each
    // save, G1 shrank a heap holding only Cairn's small objects (the shares are direct), and a
    // save paid for re-committing and touching that memory again: 0.8-1.7 s of CPU per 256 MiB
    // shard, against 0.3-0.5 s for the raw writer, whose heap chunks kept the heap large.
    cmd.add("-Xms" + heap);
    // The share, the store's staging buffers and the HDFS client's packets.
    cmd.add("-XX:MaxDirectMemorySize=" + ((share >> 20) + 1024) + "m");
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("-D")) {
        cmd.add(a); // the logging settings, above all
      }
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Rank.class.getName());
    cmd.addAll(
        List.of(
            String.valueOf(rank),
            String.valueOf(n),
            String.valueOf(port),
            String.valueOf(share),
            String.valueOf(o.smallBytes()),
            String.valueOf(o.tensors()),
            String.valueOf(ProcessHandle.current().pid())));
    cmd.addAll(located);
    // Rank 0's stdout carries the results: the others print nothing there, and report on stderr.
    return new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
  }

  /**
   * One rank other than 0, in its own JVM: {@code RANK N PORT SHARE_BYTES SMALL_BYTES TENSORS
   * RANK0_PID STORAGE...} (the storage as {@link GroupBackend#locate} gives it). Joins the group,
   * opens the store, and saves whatever step rank 0 names, until rank 0 says stop. It exits when
   * rank 0's process ends.
   */
  static final class Rank {
    private Rank() {}

    public static void main(String[] args) throws Exception {
      int rank = Integer.parseInt(args[0]);
      int n = Integer.parseInt(args[1]);
      int port = Integer.parseInt(args[2]);
      List<ByteBuffer> full =
          SaveBenchmark.randomTensors(Long.parseLong(args[3]), Integer.parseInt(args[5]));
      List<ByteBuffer> tiny = SaveBenchmark.randomTensors(Integer.parseInt(args[4]), 1);
      Map<String, String> env = new java.util.HashMap<>(environment(rank, n, port));
      env.put(Coordinators.CAIRN_LAUNCHER_PID, args[6]);
      List<String> located = List.of(args).subList(7, args.length);
      Timeline timeline = Timeline.enabled() ? new Timeline() : null;
      Storage opened = GroupBackend.open(located);
      Storage storage = timeline == null ? opened : timeline.wrap(opened);
      GroupBackend.RawWriter raw = null;
      try (Coordinator c = Coordinators.fromEnvironment(env);
          CheckpointStore store =
              CheckpointStore.builder(storage)
                  .coordinator(c)
                  .groupTimeout(WAIT)
                  .events(e -> {})
                  .open()) {
        while (true) {
          ByteBuffer next = ByteBuffer.wrap(c.broadcast(NEXT, null, WAIT));
          long step = next.getLong();
          if (step == STOP) {
            return;
          }
          byte what = next.get();
          if (what == RAW) {
            if (raw == null) {
              raw = GroupBackend.rawWriter(located, full);
            }
            System.gc();
            c.barrier(GO, WAIT);
            String name = rawName(rank, step);
            if (timeline != null) {
              timeline.go();
            }
            double took = raw.write(name);
            if (timeline != null) {
              System.err.println(timeline.rawJson(rank, step, took));
            }
            c.barrier(WRITTEN, WAIT);
            raw.delete(name);
            c.barrier(SAVED, WAIT);
            continue;
          }
          Checkpoint checkpoint = RemoteSaveBenchmark.checkpoint(step, what == FULL ? full : tiny);
          // Rank 0 settles its own JVM before each save; this one's garbage goes too.
          System.gc();
          c.barrier(GO, WAIT);
          if (timeline != null) {
            timeline.go();
          }
          store.save(checkpoint);
          if (timeline != null && what == FULL) {
            System.err.println(timeline.json(rank, step));
          }
          c.barrier(SAVED, WAIT);
        }
      } finally {
        if (raw != null) {
          raw.close();
        }
      }
    }
  }
}
