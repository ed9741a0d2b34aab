package dev.cairn.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.RetentionPolicy;
import dev.cairn.safetensors.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * What a long history of checkpoints costs: a store holding {@code count} committed (small)
 * checkpoints, and per operation the median time to open it, to list it ({@link
 * CheckpointStore#list()}), to find and verify the newest ({@link
 * CheckpointStore#loadLatestValid()}), and of retention in a job that keeps its last {@code count}:
 * one more checkpoint is saved (untimed) and {@link CheckpointStore#applyRetention} with keep-last
 * {@code count} deletes the oldest (timed: the first pass after open, which reads the manifests of
 * the kept checkpoints once), then once more (timed: the steady state of every later save). Run for
 * several counts, anything that grows with the history shows as a time that grows with the count.
 * What {@code cairn bench checkpoints} runs.
 */
public final class CheckpointCountBenchmark {

  /** Medians in milliseconds over {@code repeat} rounds, and each round's time. */
  public record Result(
      int checkpoints,
      int repeat,
      long tensorBytes,
      double setupSeconds,
      double openMillis,
      double listMillis,
      double loadLatestMillis,
      double retentionMillis,
      double firstRetentionMillis,
      double[] openRuns,
      double[] listRuns,
      double[] loadLatestRuns,
      double[] retentionRuns,
      double[] firstRetentionRuns,
      boolean cachesDropped) {}

  private CheckpointCountBenchmark() {}

  /**
   * Measures a store of {@code count} checkpoints in a fresh folder under {@code dir}, deleted
   * afterwards.
   *
   * @param tensorBytes the size of each checkpoint's one tensor (a multiple of 4)
   * @param dropCaches drop the OS page cache before each open, list and load (as after a restart;
   *     root only); the retention pass runs warm, as in a job
   */
  public static Result run(Path dir, int count, int repeat, int tensorBytes, boolean dropCaches)
      throws IOException {
    if (count < 1 || repeat < 1) {
      throw new IllegalArgumentException("--counts and --repeat must be 1 or more");
    }
    if (tensorBytes < 4 || tensorBytes % 4 != 0) {
      throw new IllegalArgumentException("--tensor-bytes must be a positive multiple of 4");
    }
    Files.createDirectories(dir);
    Path work = Files.createTempDirectory(dir, "cairn-bench-checkpoints-");
    Path folder = work.resolve("checkpoints");
    double[] open = new double[repeat];
    double[] list = new double[repeat];
    double[] load = new double[repeat];
    double[] retention = new double[repeat];
    double[] firstRetention = new double[repeat];
    boolean dropped = false;
    float[] values = randomFloats(tensorBytes / 4);
    try {
      long t0 = System.nanoTime();
      try (CheckpointStore store = openStore(folder)) {
        for (long step = 1; step <= count; step++) {
          store.save(checkpoint(step, values));
        }
      }
      double setup = (System.nanoTime() - t0) / 1e9;
      long newest = count;
      for (int i = 0; i < repeat; i++) {
        dropped = maybeDrop(dropCaches) || dropped;
        long a = System.nanoTime();
        try (CheckpointStore store = openStore(folder)) {
          open[i] = millisSince(a);
          maybeDrop(dropCaches);
          a = System.nanoTime();
          List<CheckpointInfo> all = store.list();
          list[i] = millisSince(a);
          expect(all.size() == count, "listed " + all.size() + " checkpoints, not " + count);
          maybeDrop(dropCaches);
          a = System.nanoTime();
          Optional<LoadedCheckpoint> latest = store.loadLatestValid();
          load[i] = millisSince(a);
          expect(
              latest.isPresent() && latest.get().step() == newest,
              "the newest valid checkpoint is not step " + newest);
          latest.get().close();
          for (double[] timed : new double[][] {firstRetention, retention}) {
            newest++;
            store.save(checkpoint(newest, values));
            a = System.nanoTime();
            List<Long> deleted = retentionPass(store, count);
            timed[i] = millisSince(a);
            expect(
                deleted.equals(List.of(newest - count)),
                "retention deleted " + deleted + ", not the oldest step " + (newest - count));
          }
        }
      }
      return new Result(
          count,
          repeat,
          tensorBytes,
          setup,
          SaveBenchmark.median(open),
          SaveBenchmark.median(list),
          SaveBenchmark.median(load),
          SaveBenchmark.median(retention),
          SaveBenchmark.median(firstRetention),
          open,
          list,
          load,
          retention,
          firstRetention,
          dropped);
    } finally {
      dev.cairn.store.Storage.at(work).deleteTree("");
    }
  }

  /** One retention pass of a job keeping its last {@code keep} checkpoints. */
  static List<Long> retentionPass(CheckpointStore store, int keep) throws IOException {
    return store.applyRetention(RetentionPolicy.builder().keepLast(keep).build());
  }

  /** A small checkpoint: one float tensor, a JSON part and a metric, as a job's would have. */
  static Checkpoint checkpoint(long step, float[] values) {
    return Checkpoint.at(step)
        .metric("loss", 1.0 / step)
        .tensors("model", List.of(Tensor.of("w", values, values.length)))
        .json("state", JsonNodeFactory.instance.objectNode().put("step", step))
        .build();
  }

  static CheckpointStore openStore(Path folder) throws IOException {
    return CheckpointStore.builder(folder).events(e -> {}).open();
  }

  private static float[] randomFloats(int n) {
    SplittableRandom r = new SplittableRandom(7);
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) r.nextDouble();
    }
    return out;
  }

  private static boolean maybeDrop(boolean dropCaches) {
    return dropCaches && SaveBenchmark.dropPageCache();
  }

  private static double millisSince(long start) {
    return (System.nanoTime() - start) / 1e6;
  }

  private static void expect(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException("checkpoint count benchmark: " + what);
    }
  }
}
