package dev.cairn.bench;

import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.DataCursor;
import dev.cairn.manager.RngState;
import dev.cairn.manager.TensorMap;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.commons.rng.UniformRandomProvider;
import org.apache.commons.rng.simple.RandomSource;

/**
 * Whole-loop overhead of Cairn: steps per second of the same training loop (Adam on {@code params}
 * floats) with no Cairn at all, and with a run, metrics every step and a checkpoint every 60 s.
 * Rounds alternate to spread machine noise over both.
 *
 * <p>Usage: {@code OverheadBenchmark DIR [SECONDS_PER_ROUND=65] [ROUNDS=2] [PARAMS=4000000]};
 * prints one JSON line.
 */
public final class OverheadBenchmark {
  private OverheadBenchmark() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    long seconds = args.length > 1 ? Long.parseLong(args[1]) : 65;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    int params = args.length > 3 ? Integer.parseInt(args[3]) : 4_000_000;
    Files.createDirectories(dir);
    long plainSteps = 0;
    long cairnSteps = 0;
    double plainTime = 0;
    double cairnTime = 0;
    int saves = 0;
    for (int r = 0; r < rounds; r++) {
      long[] plain = loop(null, params, seconds, r);
      plainSteps += plain[0];
      plainTime += plain[1] / 1e9;
      long[] with = loop(dir, params, seconds, r);
      cairnSteps += with[0];
      cairnTime += with[1] / 1e9;
      saves += (int) with[2];
    }
    double a = plainSteps / plainTime;
    double b = cairnSteps / cairnTime;
    System.out.printf(
        java.util.Locale.ROOT,
        "{\"params\":%d,\"seconds_per_round\":%d,\"rounds\":%d,\"plain_steps_per_second\":%.3f,"
            + "\"cairn_steps_per_second\":%.3f,\"overhead\":%.5f,\"checkpoints\":%d}%n",
        params,
        seconds,
        rounds,
        a,
        b,
        1 - b / a,
        saves);
  }

  /** Returns steps, nanoseconds, checkpoints saved. */
  static long[] loop(Path dir, int n, long seconds, int round) throws Exception {
    float[] w = new float[n];
    float[] m = new float[n];
    float[] v = new float[n];
    UniformRandomProvider rng = RandomSource.XO_RO_SHI_RO_128_PP.create(round);
    float[] batch = new float[64];
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    long start = System.nanoTime();
    long steps = 0;
    if (dir == null) {
      while (System.nanoTime() < deadline) {
        for (int j = 0; j < 64; j++) {
          batch[j] = rng.nextFloat();
        }
        DeterministicJob.adamStep(w, m, v, batch, steps, steps + 1);
        steps++;
      }
      return new long[] {steps, System.nanoTime() - start, 0};
    }
    try (Run run =
        Cairn.open(dir, RunOptions.named("overhead-" + round + "-" + System.nanoTime()))) {
      CheckpointManager ckpt =
          run.checkpoints(CheckpointPolicy.builder().every(Duration.ofSeconds(60)).build());
      RngState rs = new RngState("rng", RandomSource.XO_RO_SHI_RO_128_PP.create(round));
      ckpt.restoreLatest(
          new TensorMap("model").put("w", w),
          new TensorMap("optimizer").put("m", m).put("v", v),
          new DataCursor("data"),
          rs);
      UniformRandomProvider r = rs.rng();
      start = System.nanoTime();
      while (System.nanoTime() < deadline) {
        for (int j = 0; j < 64; j++) {
          batch[j] = r.nextFloat();
        }
        double loss = DeterministicJob.adamStep(w, m, v, batch, steps, steps + 1);
        run.metrics().begin(steps).put("loss", loss).put("lr", 0.01).commit();
        ckpt.onStep(steps, Map.of("loss", loss));
        steps++;
      }
      long elapsed = System.nanoTime() - start;
      long saved = ckpt.store().list().size();
      return new long[] {steps, elapsed, saved};
    }
  }
}
