package dev.cairn.web;

import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.TensorMap;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * A real Cairn job for the dashboard's tests, run in its own JVM: a tiny model trained by gradient
 * descent at a set pace, metrics every step, val_loss every 50, a checkpoint every 200 steps, and
 * save requests from the control folder answered within 50 ms; a stop request ends it after that
 * step's checkpoint, and starting it again resumes there.
 *
 * <p>Usage: {@code ToyJob RUNS NAME STEPS MILLIS_PER_STEP}
 */
public final class ToyJob {
  private ToyJob() {}

  public static void main(String[] args) throws Exception {
    Path runs = Path.of(args[0]);
    String name = args[1];
    long total = Long.parseLong(args[2]);
    long pace = Long.parseLong(args[3]);
    RunOptions options =
        RunOptions.named(name)
            .config(Map.of("steps", total, "lr", 0.05, "model", Map.of("size", 64)))
            .totalSteps(total)
            .progressInterval(Duration.ofMillis(100))
            .controlPollInterval(Duration.ofMillis(50));
    try (Run run = Cairn.open(runs, options)) {
      CheckpointManager ckpt =
          run.checkpoints(CheckpointPolicy.builder().everySteps(200).every(null).build());
      float[] w = new float[64];
      TensorMap model = new TensorMap("model").put("w", w);
      long start = ckpt.restoreLatest(model);
      for (long step = start; step < total; step++) {
        double loss = 0;
        for (int i = 0; i < w.length; i++) {
          float target = (float) Math.sin(i + step * 0.001);
          float g = 2 * (w[i] - target);
          w[i] -= 0.05f * g;
          loss += (w[i] - target) * (w[i] - target);
        }
        loss = loss / w.length + 1.0 / (1 + step);
        Map<String, Double> m = new HashMap<>();
        m.put("loss", loss);
        m.put("lr", 0.05);
        if (step % 50 == 49) {
          m.put("val_loss", loss * 1.1);
        }
        ckpt.onStep(step, Map.of("loss", loss));
        run.log(step, m);
        if (ckpt.stopRequested()) {
          System.out.println("STOPPED " + (step + 1)); // Stop: this step's checkpoint is saving
          return; // closing the run ends the session as stopped
        }
        if (pace > 0) {
          Thread.sleep(pace);
        }
      }
      ckpt.saveFinal();
      run.finish(Map.of());
    }
    System.out.println("DONE " + total);
  }
}
