package dev.cairn.manager;

/**
 * The moving average of the loss over the last N steps, and after a resume the comparison of the
 * first N losses with the average saved in the checkpoint.
 */
final class LossWatch {
  /** The loss before the checkpoint and after the resume, and their relative difference. */
  record Verdict(double before, double after, double relativeChange) {}

  private final double[] window;
  private int count;
  private int next;
  private double sum;
  private double resumedAverage = Double.NaN;
  private int sinceResume;
  private double sumSinceResume;

  LossWatch(int size) {
    this.window = new double[size];
  }

  /** Adds a loss; returns a verdict once, when enough losses after a resume were seen. */
  Verdict add(double value) {
    if (!Double.isFinite(value)) {
      return null;
    }
    if (count == window.length) {
      sum -= window[next];
    } else {
      count++;
    }
    window[next] = value;
    sum += value;
    next = (next + 1) % window.length;
    if (!Double.isNaN(resumedAverage)) {
      sinceResume++;
      sumSinceResume += value;
      if (sinceResume == Math.min(window.length, 20)) {
        double after = sumSinceResume / sinceResume;
        double before = resumedAverage;
        resumedAverage = Double.NaN;
        double scale = Math.max(Math.abs(before), 1e-12);
        return new Verdict(before, after, Math.abs(after - before) / scale);
      }
    }
    return null;
  }

  double average() {
    return count == 0 ? Double.NaN : sum / count;
  }

  void resumedFrom(double average) {
    resumedAverage = average;
    sinceResume = 0;
    sumSinceResume = 0;
  }
}
