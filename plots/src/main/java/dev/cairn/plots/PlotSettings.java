package dev.cairn.plots;

import java.time.Duration;

/**
 * How a run's plots are drawn. Defaults: every 60 s and at each checkpoint, the newest 10 step
 * files per chart, 1200×700 pixels, a 50-point moving average, loss on a log scale.
 *
 * @param every how often a round of plots is drawn (null: only at checkpoints)
 * @param atCheckpoints draw a round after each saved checkpoint
 * @param keep step files kept per chart (0: all)
 * @param smoothing moving-average window of the loss, in points (1: none)
 * @param logLoss loss on a logarithmic axis (when all values are positive)
 */
public record PlotSettings(
    Duration every,
    boolean atCheckpoints,
    int keep,
    int width,
    int height,
    int smoothing,
    boolean logLoss) {

  public PlotSettings {
    if (every != null && (every.isNegative() || every.isZero())) {
      throw new IllegalArgumentException("the plot interval must be positive");
    }
    if (keep < 0 || smoothing < 1 || width < 200 || height < 150) {
      throw new IllegalArgumentException(
          "plots need keep >= 0, smoothing >= 1 and at least 200x150 pixels");
    }
  }

  public static PlotSettings defaults() {
    return new PlotSettings(Duration.ofSeconds(60), true, 10, 1200, 700, 50, true);
  }

  public PlotSettings every(Duration d) {
    return new PlotSettings(d, atCheckpoints, keep, width, height, smoothing, logLoss);
  }

  public PlotSettings keep(int n) {
    return new PlotSettings(every, atCheckpoints, n, width, height, smoothing, logLoss);
  }

  public PlotSettings size(int w, int h) {
    return new PlotSettings(every, atCheckpoints, keep, w, h, smoothing, logLoss);
  }

  public PlotSettings smoothing(int window) {
    return new PlotSettings(every, atCheckpoints, keep, width, height, window, logLoss);
  }

  public PlotSettings logLoss(boolean log) {
    return new PlotSettings(every, atCheckpoints, keep, width, height, smoothing, log);
  }
}
