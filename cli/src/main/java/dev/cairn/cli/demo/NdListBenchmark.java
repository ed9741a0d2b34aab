package dev.cairn.cli.demo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.cairn.bench.SaveBenchmark;
import dev.cairn.store.Fsync;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * DJL's own parameter format as the Java peer of {@code cairn bench save}: the same bytes (the same
 * seed and split into tensors as {@link SaveBenchmark}) as UINT8 NDArrays on the PyTorch engine,
 * saved with {@link NDList#encode(OutputStream)} into a new file that is then forced to disk with
 * its folder (what Cairn's durable save guarantees, so both are timed to the same promise), and
 * loaded back with {@link NDList#decode(NDManager, InputStream)}, with a cold page cache when
 * asked. DJL keeps no checksum: what came back is compared (CRC32C) outside the timing.
 *
 * <p>It lives beside the demo because it runs on the demo's engine set-up (offline, the engine
 * cache of {@link EngineCache}).
 */
public final class NdListBenchmark {

  /** What one benchmark measured; times in seconds, medians over the runs. */
  public record Result(
      long bytes,
      int tensors,
      long fileBytes,
      double saveSeconds,
      double restoreSeconds,
      double[] saveRuns,
      double[] restoreRuns,
      boolean cachesDropped) {}

  private NdListBenchmark() {}

  /**
   * Runs {@code repeat} saves and loads in a fresh folder under {@code dir}, deleted afterwards.
   * Memory: the arrays once (each load replaces the arrays saved before it, freed first, as in a
   * process that restarts) plus DJL's copy of one tensor while it is encoded.
   *
   * @param dropCaches drop the OS page cache before each load (root only)
   * @throws IllegalStateException when a load gives back other bytes than were saved
   */
  public static Result run(long bytes, int tensorCount, int repeat, Path dir, boolean dropCaches)
      throws IOException {
    if (bytes < tensorCount * 8L) {
      throw new IllegalArgumentException("--bytes must be at least 8 bytes per tensor");
    }
    if (repeat < 1) {
      throw new IllegalArgumentException("--repeat must be 1 or more");
    }
    Network.configureEngine(1, EngineCache.resolve(null));
    Files.createDirectories(dir);
    Path work = Files.createTempDirectory(Files.createDirectories(dir), "cairn-bench-ndlist-");
    double[] saves = new double[repeat];
    double[] restores = new double[repeat];
    long fileBytes = 0;
    boolean dropped = false;
    long[] expected = new long[tensorCount];
    try (NDManager root = NDManager.newBaseManager("PyTorch")) {
      NDManager current = root.newSubManager();
      NDList arrays = randomArrays(current, bytes, tensorCount, expected);
      for (int i = 0; i < repeat; i++) {
        Path file = work.resolve("params-" + i + ".ndlist");
        long start = System.nanoTime();
        save(arrays, file);
        saves[i] = (System.nanoTime() - start) / 1e9;
        fileBytes = Files.size(file);
        // A process that loads parameters has none yet: free the saved arrays first, so that an
        // 8 GiB run holds 8 GiB of arrays, not 16.
        current.close();
        arrays = null;
        SaveBenchmark.releaseDirectMemory(0);
        if (dropCaches) {
          dropped = SaveBenchmark.dropPageCache();
        }
        current = root.newSubManager();
        start = System.nanoTime();
        arrays = load(current, file);
        restores[i] = (System.nanoTime() - start) / 1e9;
        check(arrays, expected);
        Files.delete(file);
      }
      current.close();
    } finally {
      dev.cairn.store.Storage.at(work).deleteTree("");
    }
    return new Result(
        bytes,
        tensorCount,
        fileBytes,
        SaveBenchmark.median(saves),
        SaveBenchmark.median(restores),
        saves,
        restores,
        dropped);
  }

  /**
   * {@link SaveBenchmark#randomTensors}' bytes as arrays of {@code manager} (which wrap the direct
   * buffers without a copy); their CRC32C into {@code crcs}.
   */
  private static NDList randomArrays(NDManager manager, long bytes, int count, long[] crcs) {
    List<ByteBuffer> data = SaveBenchmark.randomTensors(bytes, count);
    NDList out = new NDList(count);
    for (int t = 0; t < count; t++) {
      ByteBuffer b = data.get(t);
      crcs[t] = crc(b.duplicate());
      NDArray a = manager.create(b, new Shape(b.capacity()), DataType.UINT8);
      a.setName("t" + t);
      out.add(a);
    }
    return out;
  }

  /**
   * Encodes into a new file and forces it and its folder to disk. A FileOutputStream, not a
   * channel's stream: DJL hands each tensor over as one heap array, and a channel would keep a
   * direct buffer of that size cached on this thread.
   */
  private static void save(NDList arrays, Path file) throws IOException {
    try (FileOutputStream raw = new FileOutputStream(file.toFile());
        OutputStream out = new BufferedOutputStream(raw, 1 << 16)) {
      arrays.encode(out);
      out.flush();
      Fsync.channel(raw.getChannel());
    }
    Fsync.folder(file.toAbsolutePath().getParent());
  }

  private static NDList load(NDManager manager, Path file) throws IOException {
    try (InputStream in = new BufferedInputStream(new FileInputStream(file.toFile()), 1 << 16)) {
      return NDList.decode(manager, in);
    }
  }

  private static void check(NDList arrays, long[] expected) {
    if (arrays.size() != expected.length) {
      throw new IllegalStateException(
          "NDList.decode gave " + arrays.size() + " arrays, not " + expected.length);
    }
    for (int t = 0; t < expected.length; t++) {
      if (crc(arrays.get(t).toByteBuffer(true)) != expected[t]) {
        throw new IllegalStateException("array t" + t + " read back differs from the saved one");
      }
    }
  }

  private static long crc(ByteBuffer b) {
    CRC32C c = new CRC32C();
    c.update(b);
    return c.getValue();
  }
}
