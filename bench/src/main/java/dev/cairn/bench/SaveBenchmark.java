package dev.cairn.bench;

import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.SavedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.safetensors.DType;
import dev.cairn.safetensors.Tensor;
import dev.cairn.safetensors.TensorData;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Whole-process save and restore of {@code bytes} of tensors through the real checkpoint store on a
 * real folder: what {@code cairn bench save} runs. Every timed save is durable (returns after the
 * commit protocol's last fsync); every restore verifies CRC32C and copies every tensor into memory,
 * as a framework loading a checkpoint would.
 */
public final class SaveBenchmark {

  /** What one benchmark measured; times are seconds, medians over the runs. */
  public record Result(
      long bytes,
      int tensors,
      double saveSeconds,
      double restoreSeconds,
      double stallSeconds,
      double[] saveRuns,
      double[] restoreRuns,
      boolean cachesDropped) {}

  private SaveBenchmark() {}

  /**
   * Runs {@code repeat} save+restore rounds in a fresh folder under {@code dir}, deleted after.
   *
   * @param dropCaches drop the OS page cache before each restore (root only), so restores read the
   *     disk
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
    // Restores go into the same buffers (after noting their CRC), so SIZE bytes of memory suffice.
    long[] expected = new long[data.size()];
    for (int t = 0; t < data.size(); t++) {
      expected[t] = crc(data.get(t));
    }
    List<ByteBuffer> restored = data;
    double[] saves = new double[repeat];
    double[] restores = new double[repeat];
    boolean dropped = false;
    try (CheckpointStore store =
        CheckpointStore.builder(work.resolve("checkpoints"))
            .storage(Storage.local())
            .events(e -> {})
            .open()) {
      for (int i = 0; i < repeat; i++) {
        Checkpoint.Builder b = Checkpoint.at(i);
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
        SavedCheckpoint saved = store.save(b.tensors("model", tensors).build());
        saves[i] = (System.nanoTime() - start) / 1e9;
        if (dropCaches) {
          dropped = dropPageCache();
        }
        start = System.nanoTime();
        // Manifest, sizes and headers first; the data is CRC-checked as it streams in.
        try (LoadedCheckpoint c = store.load(saved.step(), Verification.SIZES)) {
          c.readTensors(
              "model", t -> restored.get(Integer.parseInt(t.name().substring(1))).clear());
        }
        restores[i] = (System.nanoTime() - start) / 1e9;
        for (int t = 0; t < data.size(); t++) {
          if (!restored.get(t).flip().equals(data.get(t).duplicate().clear())) {
            throw new IllegalStateException(
                "restored tensor t" + t + " differs from what was saved");
          }
        }
        // Keep only the newest, so a large benchmark does not need repeat x bytes of disk.
        for (var info : store.list()) {
          if (info.step() != saved.step()) {
            deleteTree(info.folder());
          }
        }
      }
    } finally {
      deleteTree(work);
    }
    double save = median(saves);
    return new Result(bytes, tensorCount, save, median(restores), save, saves, restores, dropped);
  }

  /** Random (incompressible) content, split into tensors of near-equal size. */
  static List<ByteBuffer> randomTensors(long bytes, int count) {
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

  private static long crc(ByteBuffer b) {
    java.util.zip.CRC32C c = new java.util.zip.CRC32C();
    c.update(b.duplicate());
    return c.getValue();
  }

  static double median(double[] values) {
    double[] s = values.clone();
    Arrays.sort(s);
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (var s = Files.walk(p)) {
      List<Path> all = new ArrayList<>(s.toList());
      java.util.Collections.reverse(all);
      for (Path x : all) {
        Files.delete(x);
      }
    }
  }
}
