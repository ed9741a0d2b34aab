package dev.cairn.plots;

import java.util.Arrays;

/**
 * Points (step, value) of one metric in step order. Memory stays bounded on long runs: beyond
 * {@link #MAX_POINTS} points, neighbours are averaged pairwise (the curve keeps its shape; a chart
 * 1,200 pixels wide could not show more anyway).
 */
public final class Series {
  static final int MAX_POINTS = 200_000;

  private final String name;
  private double[] x = new double[1024];
  private double[] y = new double[1024];
  private int n;

  public Series(String name) {
    this.name = name;
  }

  public String name() {
    return name;
  }

  public synchronized void add(double step, double value) {
    if (!Double.isFinite(value)) {
      return;
    }
    if (n == x.length) {
      if (n >= MAX_POINTS) {
        halve();
      } else {
        x = Arrays.copyOf(x, n * 2);
        y = Arrays.copyOf(y, n * 2);
      }
    }
    x[n] = step;
    y[n] = value;
    n++;
  }

  private void halve() {
    int m = n / 2;
    for (int i = 0; i < m; i++) {
      x[i] = (x[2 * i] + x[2 * i + 1]) / 2;
      y[i] = (y[2 * i] + y[2 * i + 1]) / 2;
    }
    if ((n & 1) == 1) {
      x[m] = x[n - 1];
      y[m] = y[n - 1];
      m++;
    }
    n = m;
  }

  public synchronized int size() {
    return n;
  }

  /** A copy of the points with step at least {@code from}: {xs, ys}. */
  public synchronized double[][] points(double from) {
    int start = 0;
    while (start < n && x[start] < from) {
      start++;
    }
    return new double[][] {Arrays.copyOfRange(x, start, n), Arrays.copyOfRange(y, start, n)};
  }

  /** Trailing moving average over {@code window} points. */
  public static double[] movingAverage(double[] v, int window) {
    double[] out = new double[v.length];
    double sum = 0;
    for (int i = 0; i < v.length; i++) {
      sum += v[i];
      if (i >= window) {
        sum -= v[i - window];
      }
      out[i] = sum / Math.min(i + 1, window);
    }
    return out;
  }

  /**
   * At most about {@code 2 * buckets} points: the minimum and maximum of each bucket of steps, in
   * step order, so spikes survive the thinning (what the eye needs from a long noisy curve).
   */
  static double[][] minMax(double[] xs, double[] ys, int buckets) {
    if (xs.length <= 2 * buckets) {
      return new double[][] {xs, ys};
    }
    double[] ox = new double[2 * buckets + 2];
    double[] oy = new double[2 * buckets + 2];
    int k = 0;
    int per = (int) Math.ceil(xs.length / (double) buckets);
    for (int b = 0; b < xs.length; b += per) {
      int end = Math.min(xs.length, b + per);
      int lo = b;
      int hi = b;
      for (int i = b; i < end; i++) {
        if (ys[i] < ys[lo]) {
          lo = i;
        }
        if (ys[i] > ys[hi]) {
          hi = i;
        }
      }
      int first = Math.min(lo, hi);
      int second = Math.max(lo, hi);
      ox[k] = xs[first];
      oy[k++] = ys[first];
      if (second != first) {
        ox[k] = xs[second];
        oy[k++] = ys[second];
      }
    }
    return new double[][] {Arrays.copyOf(ox, k), Arrays.copyOf(oy, k)};
  }
}
