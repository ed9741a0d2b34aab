package dev.cairn.web;

import java.util.Arrays;

/**
 * Largest-Triangle-Three-Buckets (Steinarsson, 2013): keeps the first and last point and, from each
 * bucket in between, the point that spans the largest triangle with its neighbours' choices. Peaks
 * and dips survive, so a 1,000,000-point loss curve drawn from 2,000 points looks like the real
 * one.
 */
public final class Downsampling {
  private Downsampling() {}

  /**
   * Indices into {@code xs}/{@code ys} (within {@code [start, end)}, increasing) of at most {@code
   * maxPoints} points; all of them when there are no more than that.
   */
  public static int[] lttb(double[] xs, double[] ys, int start, int end, int maxPoints) {
    int n = end - start;
    if (n <= 0) {
      return new int[0];
    }
    if (n <= maxPoints) {
      int[] all = new int[n];
      Arrays.setAll(all, i -> start + i);
      return all;
    }
    if (maxPoints < 3) {
      return maxPoints <= 1 ? new int[] {start} : new int[] {start, end - 1};
    }
    int[] out = new int[maxPoints];
    int k = 0;
    out[k++] = start;
    double every = (double) (n - 2) / (maxPoints - 2);
    int a = start;
    for (int b = 0; b < maxPoints - 2; b++) {
      // The next bucket's average is the third corner of the triangle.
      int nextStart = start + 1 + (int) Math.floor((b + 1) * every);
      int nextEnd = Math.min(start + 1 + (int) Math.floor((b + 2) * every), end);
      if (nextStart >= end - 1) {
        nextStart = end - 1;
        nextEnd = end;
      }
      double avgX = 0;
      double avgY = 0;
      for (int i = nextStart; i < nextEnd; i++) {
        avgX += xs[i];
        avgY += ys[i];
      }
      int len = Math.max(1, nextEnd - nextStart);
      avgX /= len;
      avgY /= len;
      int from = start + 1 + (int) Math.floor(b * every);
      int to = Math.min(start + 1 + (int) Math.floor((b + 1) * every), end - 1);
      double ax = xs[a];
      double ay = ys[a];
      double best = -1;
      int chosen = from;
      for (int i = from; i < to; i++) {
        double area = Math.abs((ax - avgX) * (ys[i] - ay) - (ax - xs[i]) * (avgY - ay));
        if (area > best) {
          best = area;
          chosen = i;
        }
      }
      out[k++] = chosen;
      a = chosen;
    }
    out[k++] = end - 1;
    return k == out.length ? out : Arrays.copyOf(out, k);
  }

  /**
   * The trailing moving average over {@code window} points (of the full series, not the thinned
   * one) at each chosen index.
   */
  public static double[] movingAverageAt(double[] ys, int start, int[] at, int window) {
    double[] out = new double[at.length];
    if (window <= 1) {
      for (int j = 0; j < at.length; j++) {
        out[j] = ys[at[j]];
      }
      return out;
    }
    // One running sum walked forward over the series: O(n) for any number of chosen points.
    double sum = 0;
    int lo = start;
    int next = start;
    for (int j = 0; j < at.length; j++) {
      int i = at[j];
      while (next <= i) {
        sum += ys[next++];
      }
      while (next - lo > window) {
        sum -= ys[lo++];
      }
      out[j] = sum / (next - lo);
    }
    return out;
  }
}
