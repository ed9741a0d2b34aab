package dev.cairn.bench;

import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.DataCursor;
import dev.cairn.manager.RngState;
import dev.cairn.manager.TensorMap;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.commons.rng.UniformRandomProvider;
import org.apache.commons.rng.simple.RandomSource;

/**
 * A small, fully deterministic training loop (Adam on a synthetic objective, a data cursor, an RNG
 * drawing every batch) used by the kill -9 tests and the torture script: with the same arguments, a
 * run killed at any instant and resumed must end with exactly the bytes of a run never interrupted.
 *
 * <p>Usage: {@code DeterministicJob RUNS NAME STEPS SAVE_EVERY [PARAMS]}; prints {@code DONE
 * <steps>} at the end.
 */
public final class DeterministicJob {
  private DeterministicJob() {}

  public static void main(String[] args) throws Exception {
    Path runs = Path.of(args[0]);
    String name = args[1];
    long total = Long.parseLong(args[2]);
    long every = Long.parseLong(args[3]);
    int n = args.length > 4 ? Integer.parseInt(args[4]) : 200_000;
    run(runs, name, total, every, n);
    System.out.println("DONE " + total);
  }

  /** Trains to {@code total} steps, resuming when the run exists. */
  public static void run(Path runs, String name, long total, long every, int n) throws Exception {
    RunOptions options =
        RunOptions.named(name)
            .config(Map.of("steps", total, "save_every", every, "params", n, "lr", 0.01))
            .totalSteps(total)
            .progressInterval(Duration.ofMillis(200));
    try (Run run = Cairn.open(runs, options)) {
      CheckpointManager ckpt =
          run.checkpoints(
              CheckpointPolicy.builder()
                  .everySteps(every)
                  .every(null)
                  .saveOnShutdown(true, Duration.ofSeconds(10))
                  .build());
      float[] w = new float[n];
      float[] m = new float[n];
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        w[i] = (float) Math.sin(i * 0.37);
      }
      TensorMap model = new TensorMap("model").put("w", w);
      TensorMap optimizer = new TensorMap("optimizer").put("m", m).put("v", v);
      DataCursor data = new DataCursor("data");
      RngState rng = RngState.create("rng", RandomSource.XO_RO_SHI_RO_128_PP, 42);
      long start = ckpt.restoreLatest(model, optimizer, data, rng);
      UniformRandomProvider r = rng.rng();
      float[] batch = new float[64];
      for (long step = start; step < total; step++) {
        for (int j = 0; j < batch.length; j++) {
          batch[j] = r.nextFloat() - 0.5f;
        }
        double loss = adamStep(w, m, v, batch, data.position(), step + 1);
        data.advance(batch.length, 10_000);
        ckpt.onStep(step, Map.of("loss", loss));
        run.log(step, Map.of("loss", loss, "lr", 0.01));
      }
      ckpt.saveFinal();
      run.finish(Map.of());
    }
  }

  /** One Adam step on sum((w - target)^2), with the target drawn from the batch and cursor. */
  static double adamStep(float[] w, float[] m, float[] v, float[] batch, long position, long t) {
    float lr = 0.01f;
    float b1 = 0.9f;
    float b2 = 0.999f;
    float c1 = (float) (1 - Math.pow(b1, t));
    float c2 = (float) (1 - Math.pow(b2, t));
    double loss = 0;
    for (int i = 0; i < w.length; i++) {
      float target = batch[i & 63] + (float) ((position + i) % 7) * 0.01f;
      float g = 2 * (w[i] - target);
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      w[i] -= lr * (m[i] / c1) / ((float) Math.sqrt(v[i] / c2) + 1e-8f);
      loss += (w[i] - target) * (w[i] - target);
    }
    return loss / w.length;
  }
}
