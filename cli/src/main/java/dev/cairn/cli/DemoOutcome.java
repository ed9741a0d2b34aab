package dev.cairn.cli;

import dev.cairn.cli.demo.DemoJob;
import java.io.PrintWriter;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * How a run of {@code cairn demo} ended, and the last lines the command prints about it.
 * Serializable: a Spark task hands it to the driver.
 *
 * @param lastMetrics the last value of each metric
 * @param finalCheckpoint the location of the last checkpoint saved, or null
 */
record DemoOutcome(
    boolean alreadyFinished,
    boolean stopped,
    long endStep,
    String location,
    LinkedHashMap<String, Double> lastMetrics,
    String finalCheckpoint)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  static DemoOutcome of(DemoJob.Result r) {
    return new DemoOutcome(
        r.alreadyFinished(),
        r.stopped(),
        r.endStep(),
        r.location(),
        new LinkedHashMap<>(r.lastMetrics()),
        r.finalCheckpoint().map(c -> c.location()).orElse(null));
  }

  /** Prints how the run ended and its final checkpoint; returns the command's exit code. */
  int print(PrintWriter out) {
    if (alreadyFinished) {
      out.printf(
          "%s already finished (step %d); use --run NAME to train another run%n",
          location, endStep);
      return 0;
    }
    if (stopped) {
      out.printf(
          "stopped %s at step %d, as asked; run the same command again to resume it%n",
          location, endStep);
      if (finalCheckpoint != null) {
        out.printf("last checkpoint: %s%n", finalCheckpoint);
      }
      return 0;
    }
    Map<String, Double> m = lastMetrics;
    out.printf(
        Locale.ROOT,
        "finished %s at step %d: loss %.4f, val_loss %.4f, val_accuracy %.3f%n",
        location,
        endStep,
        m.getOrDefault("loss", Double.NaN),
        m.getOrDefault("val_loss", Double.NaN),
        m.getOrDefault("val_accuracy", Double.NaN));
    if (finalCheckpoint != null) {
      out.printf("final checkpoint: %s%n", finalCheckpoint);
    }
    return 0;
  }
}
