package dev.cairn.tensorboard;

/**
 * Values binned the way TensorBoard reads a HistogramProto: {@code limits[i]} is the right edge of
 * bucket i, whose left edge is the previous limit (the first bucket's is {@code min}). Non-finite
 * values are left out.
 */
record Histogram(
    double min,
    double max,
    double count,
    double sum,
    double sumSquares,
    double[] limits,
    double[] counts) {

  /** Buckets of equal width from min to max; TensorBoard rebins them for display anyway. */
  static final int BUCKETS = 30;

  /** Null when there is no finite value. */
  static Histogram of(float[] values) {
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    double sum = 0;
    double squares = 0;
    int n = 0;
    for (float f : values) {
      if (!Float.isFinite(f)) {
        continue;
      }
      min = Math.min(min, f);
      max = Math.max(max, f);
      sum += f;
      squares += (double) f * f;
      n++;
    }
    if (n == 0) {
      return null;
    }
    if (min == max) {
      return new Histogram(min, max, n, sum, squares, new double[] {max}, new double[] {n});
    }
    double width = (max - min) / BUCKETS;
    double[] limits = new double[BUCKETS];
    double[] counts = new double[BUCKETS];
    for (int i = 0; i < BUCKETS; i++) {
      limits[i] = min + width * (i + 1);
    }
    limits[BUCKETS - 1] = max;
    for (float f : values) {
      if (Float.isFinite(f)) {
        int b = (int) ((f - min) / width);
        counts[Math.min(BUCKETS - 1, Math.max(0, b))]++;
      }
    }
    return new Histogram(min, max, n, sum, squares, limits, counts);
  }
}
