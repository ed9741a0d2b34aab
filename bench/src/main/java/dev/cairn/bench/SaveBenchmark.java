package dev.cairn.bench;

import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.SavedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.events.Events;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.Checkpointable;
import dev.cairn.manager.DefaultCheckpointManager;
import dev.cairn.manager.Restored;
import dev.cairn.manager.Snapshot;
import dev.cairn.safetensors.DType;
import dev.cairn.safetensors.Tensor;
import dev.cairn.safetensors.TensorData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;

/**
 * Whole-process save and restore of {@code bytes} of tensors on a real folder: what {@code cairn
 * bench save} runs. Every timed save is durable (returns after the commit protocol's last fsync);
 * every restore checks CRC32C while copying every tensor into memory. The stall is the time an
 * asynchronous save through the checkpoint manager blocks the training thread, measured beside one
 * warm in-memory copy of the same bytes (the median of three copies into buffers already copied
 * into once) and beside the first, cold, copy into freshly allocated buffers.
 */
public final class SaveBenchmark {

  /**
   * What one benchmark measured; times in seconds, medians over the runs. {@code memcpySeconds} is
   * a warm copy, {@code memcpyFirstSeconds} the first copy into new buffers (their allocation,
   * which zeroes them, is {@code memcpyAllocSeconds} and is not part of the copy). {@code
   * stallCopySeconds} and {@code stallFirstCopySeconds} are the parts of the stalls spent inside
   * the component's {@code snapshot}, copying its tensors into the staging area; the rest of a
   * stall is the manager's. {@code memcpyBesideStallsSeconds} is the median of plain copies of the
   * same bytes taken between the steady stalls, each after the same idle gap as a stall (NaN above
   * 4 GiB, where a third copy of the bytes would not fit in memory beside the staging area).
   */
  public record Result(
      long bytes,
      int tensors,
      double saveSeconds,
      double restoreSeconds,
      double stallSeconds,
      double stallFirstSeconds,
      double stallCopySeconds,
      double stallFirstCopySeconds,
      double memcpyBesideStallsSeconds,
      double memcpySeconds,
      double memcpyFirstSeconds,
      double memcpyAllocSeconds,
      double[] saveRuns,
      double[] restoreRuns,
      double[] stallRuns,
      boolean cachesDropped) {}

  /** The idle gap before each stall and each copy beside the stalls. */
  private static final long GAP_NANOS = 50_000_000;

  private SaveBenchmark() {}

  /**
   * Runs {@code repeat} rounds in a fresh folder under {@code dir}, deleted afterwards.
   *
   * @param dropCaches drop the OS page cache before each restore (root only)
   */
  public static Result run(long bytes, int tensorCount, int repeat, Path dir, boolean dropCaches)
      throws IOException {
    if (bytes < tensorCount * 8L) {
      throw new IllegalArgumentException("--bytes must be at least 8 bytes per tensor");
    }
    if (repeat < 1) {
      throw new IllegalArgumentException("--repeat must be 1 or more");
    }
    Files.createDirectories(dir);
    Path work = Files.createTempDirectory(dir, "cairn-bench-");
    List<ByteBuffer> data = randomTensors(bytes, tensorCount);
    long[] expected = new long[data.size()];
    for (int t = 0; t < data.size(); t++) {
      expected[t] = crc(data.get(t));
    }
    double[] saves = new double[repeat];
    double[] restores = new double[repeat];
    boolean dropped = false;
    try {
      try (CheckpointStore store =
          CheckpointStore.builder(work.resolve("durable")).events(e -> {}).open()) {
        for (int i = 0; i < repeat; i++) {
          List<Tensor> tensors = new ArrayList<>();
          for (int t = 0; t < data.size(); t++) {
            tensors.add(
                new Tensor(
                    "t" + t,
                    DType.U8,
                    new long[] {data.get(t).capacity()},
                    TensorData.of(data.get(t))));
          }
          long start = System.nanoTime();
          SavedCheckpoint saved = store.save(Checkpoint.at(i).tensors("model", tensors).build());
          saves[i] = (System.nanoTime() - start) / 1e9;
          if (dropCaches) {
            dropped = dropPageCache();
          }
          // Restore into the same buffers: their CRCs were noted, so SIZE bytes of memory do.
          start = System.nanoTime();
          try (LoadedCheckpoint c = store.load(saved.step(), Verification.SIZES)) {
            c.readTensors("model", t -> data.get(Integer.parseInt(t.name().substring(1))).clear());
          }
          restores[i] = (System.nanoTime() - start) / 1e9;
          for (int t = 0; t < data.size(); t++) {
            if (crc(data.get(t).flip()) != expected[t]) {
              throw new IllegalStateException(
                  "restored tensor t" + t + " differs from the saved one");
            }
            data.get(t).clear();
          }
          for (var info : store.list()) {
            if (info.step() != saved.step()) {
              deleteTree(info.folder());
            }
          }
        }
      }
      double[] copies = new double[repeat + 1];
      double[] beside = bytes <= (4L << 30) ? new double[repeat + 1] : null;
      double[] stalls = stalls(data, repeat + 1, work.resolve("async"), copies, beside);
      // The manager's staging buffers (SIZE bytes of direct memory) are garbage now, but a direct
      // buffer is freed only by a GC: without one, the copy's target would come on top and an
      // 8 GiB run would hold 3 x 8 GiB.
      releaseDirectMemory(bytes);
      Copies memcpy = memcpy(data);
      double[] steady = Arrays.copyOfRange(stalls, 1, stalls.length);
      double save = median(saves);
      return new Result(
          bytes,
          tensorCount,
          save,
          median(restores),
          median(steady),
          stalls[0],
          median(Arrays.copyOfRange(copies, 1, copies.length)),
          copies[0],
          beside == null ? Double.NaN : median(Arrays.copyOfRange(beside, 1, beside.length)),
          memcpy.warm(),
          memcpy.first(),
          memcpy.alloc(),
          saves,
          restores,
          steady,
          dropped);
    } finally {
      deleteTree(work);
    }
  }

  /** Training-thread time of {@code n} asynchronous saves through the manager (each completes). */
  private static double[] stalls(
      List<ByteBuffer> data, int n, Path folder, double[] copies, double[] beside)
      throws IOException {
    try (CheckpointStore store = CheckpointStore.builder(folder).events(e -> {}).open()) {
      return stalls(data, n, store, dev.cairn.store.Storage.at(folder), () -> {}, copies, beside);
    }
  }

  /** Work done between two measured steps, after the save before is complete. */
  @FunctionalInterface
  interface Settle {
    void run() throws IOException;
  }

  /**
   * The same on any store; {@code storage} is the store's own root, through which all but the
   * newest checkpoint are deleted between saves; {@code settle} runs before each measured step.
   */
  static double[] stalls(
      List<ByteBuffer> data,
      int n,
      CheckpointStore store,
      dev.cairn.store.Storage storage,
      Settle settle)
      throws IOException {
    return stalls(data, n, store, storage, settle, new double[n], null);
  }

  /**
   * The same, also noting in {@code copies} the seconds of each stall inside the snapshot, and,
   * unless {@code beside} is null, in {@code beside[i]} a plain copy of the same bytes made after
   * stall {@code i}'s save, between it and the next stall.
   */
  private static double[] stalls(
      List<ByteBuffer> data,
      int n,
      CheckpointStore store,
      dev.cairn.store.Storage storage,
      Settle settle,
      double[] copies,
      double[] beside)
      throws IOException {
    long[] inSnapshot = new long[1];
    List<ByteBuffer> targets = new ArrayList<>();
    if (beside != null) {
      for (ByteBuffer b : data) {
        ByteBuffer t = ByteBuffer.allocateDirect(b.capacity());
        t.put(b.duplicate().clear()); // touched, as the staging area is before its first use
        targets.add(t);
      }
    }
    Checkpointable model =
        new Checkpointable() {
          @Override
          public String name() {
            return "model";
          }

          @Override
          public void snapshot(Snapshot out) {
            long start = System.nanoTime();
            for (int t = 0; t < data.size(); t++) {
              ByteBuffer b = data.get(t);
              out.tensor("t" + t, DType.U8, new long[] {b.capacity()}, b);
            }
            inSnapshot[0] = System.nanoTime() - start;
          }

          @Override
          public void restore(Restored in) {
            throw new UnsupportedOperationException("the benchmark never restores");
          }
        };
    double[] out = new double[n];
    CommitsSeen seen = new CommitsSeen(store);
    try (DefaultCheckpointManager m =
        new DefaultCheckpointManager(
            seen,
            CheckpointPolicy.builder()
                .everySteps(1)
                .every(null)
                .saveOnShutdown(false, Duration.ZERO)
                .build(),
            Events.NONE,
            Clock.systemUTC(),
            1,
            null,
            Duration.ofSeconds(1))) {
      m.restoreLatest(model);
      // A job trains before its first save: by then the staging buffers reserved at registration
      // are allocated (off the training thread), and the first stall is the snapshot's alone.
      m.awaitStaging();
      settle.run();
      for (int i = 0; i < n; i++) {
        if (beside != null) {
          LockSupport.parkNanos(GAP_NANOS);
        }
        inSnapshot[0] = 0;
        long start = System.nanoTime();
        m.onStep(i);
        out[i] = (System.nanoTime() - start) / 1e9;
        copies[i] = inSnapshot[0] / 1e9;
        // Let the background save finish, retention pass included, so the next step measures a
        // snapshot, not a wait. The staging area is free as soon as the bytes are written (a step
        // taken during the retention pass reuses it), but the deletes below must not race that
        // pass over the same folders.
        while (seen.retentionPasses() < i + 1 && m.lastFailure().isEmpty()) {
          LockSupport.parkNanos(1_000_000);
        }
        if (m.lastFailure().isPresent()) {
          throw new IOException("async save failed", m.lastFailure().get());
        }
        for (var info : store.list()) {
          if (info.step() != i + 1) {
            storage.deleteTree(folderName(info.folder()));
          }
        }
        settle.run();
        if (beside != null) {
          // The in-memory copy beside the stall, in the stall's conditions: after the save's
          // writing and deletes, and the same idle gap. On this VM a copy right after another is
          // faster than one after a pause, so a tight loop of copies flatters the limit.
          LockSupport.parkNanos(GAP_NANOS);
          long copyStart = System.nanoTime();
          for (int t = 0; t < data.size(); t++) {
            targets.get(t).clear().put(data.get(t).duplicate().clear());
          }
          beside[i] = (System.nanoTime() - copyStart) / 1e9;
        }
      }
    }
    return out;
  }

  /**
   * A store that counts the manager's retention passes, the last thing the manager's writer does
   * for a save; everything else goes to the store it wraps.
   */
  private static final class CommitsSeen implements CheckpointStore {
    private final CheckpointStore store;
    private final java.util.concurrent.atomic.AtomicLong passes =
        new java.util.concurrent.atomic.AtomicLong();

    CommitsSeen(CheckpointStore store) {
      this.store = store;
    }

    long retentionPasses() {
      return passes.get();
    }

    @Override
    public List<Long> applyRetention(dev.cairn.checkpoint.RetentionPolicy policy)
        throws IOException {
      try {
        return store.applyRetention(policy);
      } finally {
        passes.incrementAndGet();
      }
    }

    @Override
    public Path folder() {
      return store.folder();
    }

    @Override
    public SavedCheckpoint save(Checkpoint checkpoint) throws IOException {
      return store.save(checkpoint);
    }

    @Override
    public void abandonSave(long step, Exception cause) throws IOException {
      store.abandonSave(step, cause);
    }

    @Override
    public List<dev.cairn.checkpoint.CheckpointInfo> list() throws IOException {
      return store.list();
    }

    @Override
    public java.util.Optional<LoadedCheckpoint> loadLatestValid() throws IOException {
      return store.loadLatestValid();
    }

    @Override
    public LoadedCheckpoint load(long step) throws IOException {
      return store.load(step);
    }

    @Override
    public LoadedCheckpoint load(long step, Verification level) throws IOException {
      return store.load(step, level);
    }

    @Override
    public dev.cairn.checkpoint.VerifyResult verify(long step, Verification level)
        throws IOException {
      return store.verify(step, level);
    }

    @Override
    public void pin(long step) throws IOException {
      store.pin(step);
    }

    @Override
    public void unpin(long step) throws IOException {
      store.unpin(step);
    }

    @Override
    public java.util.Set<Long> pinned() throws IOException {
      return store.pinned();
    }

    @Override
    public void close() throws IOException {
      store.close();
    }
  }

  /** Seconds of plain copies of the bytes: see {@link Result}. */
  private record Copies(double warm, double first, double alloc) {}

  /**
   * Copies of the same bytes into direct buffers allocated here: the first copy (cold: the buffers
   * were only zeroed by their allocation) and the median of the three after it (warm, the physical
   * floor). A first save is compared with both.
   */
  private static Copies memcpy(List<ByteBuffer> data) {
    List<ByteBuffer> target = new ArrayList<>();
    long allocating = System.nanoTime();
    for (ByteBuffer b : data) {
      target.add(ByteBuffer.allocateDirect(b.capacity()));
    }
    double alloc = (System.nanoTime() - allocating) / 1e9;
    double first = 0;
    double[] times = new double[3];
    for (int r = 0; r < 4; r++) {
      long start = System.nanoTime();
      for (int t = 0; t < data.size(); t++) {
        target.get(t).clear().put(data.get(t).duplicate().clear());
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      if (r == 0) {
        first = seconds;
      } else {
        times[r - 1] = seconds;
      }
    }
    return new Copies(median(times), first, alloc);
  }

  /**
   * Asks for a GC until the JVM's direct buffers hold at most {@code keep} bytes (plus 256 MiB of
   * slack) or 10 s have passed: garbage direct buffers give their memory back only when a GC has
   * found them, and a benchmark about to allocate gigabytes must not count on one happening.
   *
   * @return the bytes direct buffers still hold
   */
  public static long releaseDirectMemory(long keep) {
    java.lang.management.BufferPoolMXBean direct = null;
    for (var pool :
        java.lang.management.ManagementFactory.getPlatformMXBeans(
            java.lang.management.BufferPoolMXBean.class)) {
      if ("direct".equals(pool.getName())) {
        direct = pool;
      }
    }
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (true) {
      long used = direct == null ? 0 : direct.getMemoryUsed();
      if (used <= keep + (256L << 20) || System.nanoTime() > deadline) {
        return used;
      }
      System.gc(); // the cleaner thread frees the buffers the GC found; give it a moment
      LockSupport.parkNanos(100_000_000L);
    }
  }

  /**
   * Random (incompressible) content, split into tensors of near-equal size: the same bytes for the
   * same arguments in every process (a fixed seed), so peers can be given what Cairn saves.
   */
  public static List<ByteBuffer> randomTensors(long bytes, int count) {
    List<ByteBuffer> out = new ArrayList<>();
    SplittableRandom r = new SplittableRandom(42);
    long left = bytes;
    for (int i = 0; i < count; i++) {
      long size = i == count - 1 ? left : bytes / count;
      if (size > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException(
            "each tensor must stay under 2 GiB: raise --tensors for " + bytes + " bytes");
      }
      ByteBuffer b = ByteBuffer.allocateDirect((int) size).order(ByteOrder.LITTLE_ENDIAN);
      LongBuffer longs = b.asLongBuffer();
      while (longs.hasRemaining()) {
        longs.put(r.nextLong());
      }
      for (int k = (int) (size / 8) * 8; k < size; k++) {
        b.put(k, (byte) r.nextInt());
      }
      out.add(b.clear());
      left -= size;
    }
    return out;
  }

  private static long crc(ByteBuffer b) {
    CRC32C c = new CRC32C();
    c.update(b.duplicate());
    return c.getValue();
  }

  /** Writes back dirty pages and drops the OS page cache; false when not allowed (not root). */
  public static boolean dropPageCache() {
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

  public static double median(double[] values) {
    double[] s = values.clone();
    Arrays.sort(s);
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  /** A checkpoint's folder name inside its store's root ("step-N"). */
  static String folderName(Path folder) {
    Path name = folder.getFileName();
    if (name == null) {
      throw new IllegalStateException("a checkpoint folder has no name: " + folder);
    }
    return name.toString();
  }

  private static void deleteTree(Path p) throws IOException {
    dev.cairn.store.Storage.at(p).deleteTree("");
  }
}
