package dev.cairn.metrics;

import java.util.Arrays;

/**
 * Points (step, value) of one metric in step order; a point at or before the last step (a resumed
 * session logging again) replaces the points from that step on. Memory stays bounded on long runs:
 * beyond a bound (by default {@link #MAX_POINTS}) points, or when the shared {@link PointBudget}
 * refuses more room, neighbours are averaged pairwise (the curve keeps its shape; a chart 1,200
 * pixels wide could not show more anyway). A series starts with room for {@link #INITIAL_CAPACITY}
 * points and doubles it as points come, so a job logging thousands of rarely written metrics costs
 * little.
 */
public final class Series {
  /** The default bound: plenty for a chart, small for a long run's background plotter. */
  public static final int MAX_POINTS = 200_000;

  /** Room a new series starts with (256 bytes). */
  public static final int INITIAL_CAPACITY = 8;

  private final String name;
  private final int maxPoints;
  private final PointBudget budget;
  private double[] x = new double[INITIAL_CAPACITY];
  private double[] y = new double[INITIAL_CAPACITY];
  private int n;
  private boolean released;

  public Series(String name) {
    this(name, MAX_POINTS);
  }

  /** A series holding up to {@code maxPoints} points at full resolution (at least 1,024). */
  public Series(String name, int maxPoints) {
    this(name, maxPoints, PointBudget.unlimited());
  }

  /**
   * A series holding up to {@code maxPoints} points at full resolution (at least 1,024), and
   * growing only as far as {@code budget} allows.
   */
  public Series(String name, int maxPoints, PointBudget budget) {
    this.name = name;
    this.maxPoints = Math.max(1024, maxPoints);
    this.budget = budget;
    budget.join(INITIAL_CAPACITY);
  }

  public String name() {
    return name;
  }

  public synchronized void add(double step, double value) {
    append(step, value);
  }

  /**
   * Adds {@code count} points in order, as that many calls of {@link #add} would, under one
   * acquisition of the lock (a reader loading a long run adds millions).
   */
  public synchronized void addAll(double[] steps, double[] values, int count) {
    int bulk = bulkable(steps, values, count);
    // The usual case (points after the last, finite, room reserved): two array copies instead of
    // a call per point, which a cold JVM runs interpreted for most of a million-point read.
    System.arraycopy(steps, 0, x, n, bulk);
    System.arraycopy(values, 0, y, n, bulk);
    n += bulk;
    for (int i = bulk; i < count; i++) {
      append(steps[i], values[i]);
    }
  }

  /**
   * How many of the first points {@link #append} would simply store in turn: each after the one
   * before (and after the last held), with a finite value, within the room there is.
   */
  private int bulkable(double[] steps, double[] values, int count) {
    int limit = Math.min(count, x.length - n);
    double last = n > 0 ? x[n - 1] : Double.NEGATIVE_INFINITY;
    int i = 0;
    while (i < limit && steps[i] > last && Double.isFinite(values[i])) {
      last = steps[i];
      i++;
    }
    return i;
  }

  /**
   * Makes room for {@code points} points at once, as far as the bound and the budget allow (a
   * refusal changes nothing: the series grows point by point as before). A reader that knows how
   * many points are coming saves the copies of doubling, and the memory they touch.
   */
  public synchronized void reserve(int points) {
    int target = Math.min(maxPoints, points);
    if (target > x.length && !released && budget.tryGrow(x.length, target)) {
      x = Arrays.copyOf(x, target);
      y = Arrays.copyOf(y, target);
    }
  }

  private void append(double step, double value) {
    if (!Double.isFinite(value)) {
      return;
    }
    if (n > 0 && step <= x[n - 1]) {
      // A resumed session logs again from its checkpoint's step: what the lost session logged
      // past that point never reached a checkpoint, so the new points replace it.
      n = lowerBound(step);
    }
    if (n == x.length) {
      int grown = (int) Math.min(maxPoints, 2L * n);
      if (grown > n && !released && budget.tryGrow(x.length, grown)) {
        x = Arrays.copyOf(x, grown);
        y = Arrays.copyOf(y, grown);
      } else {
        halve();
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

  /** Points this series has room for (what it holds of its budget). */
  public synchronized int capacity() {
    return x.length;
  }

  /**
   * Gives this series' room back to its budget, once: the owner is dropping it. Points added
   * afterwards stay within the room it had.
   */
  synchronized void release() {
    if (!released) {
      released = true;
      budget.leave(x.length);
    }
  }

  /** A copy of the points with step at least {@code from}: {xs, ys}. */
  public synchronized double[][] points(double from) {
    int start = lowerBound(from);
    return new double[][] {Arrays.copyOfRange(x, start, n), Arrays.copyOfRange(y, start, n)};
  }

  /** Reads the points in place, under the series' lock; must not keep the arrays. */
  public interface PointsReader<R> {
    R read(double[] steps, double[] values, int start, int end);
  }

  /**
   * Hands the points with step at least {@code from} to {@code reader} without copying them (a
   * million-point series is read in place), holding the series' lock meanwhile.
   */
  public synchronized <R> R read(double from, PointsReader<R> reader) {
    return reader.read(x, y, lowerBound(from), n);
  }

  /** The last point's step and value, or null when empty. */
  public synchronized double[] last() {
    return n == 0 ? null : new double[] {x[n - 1], y[n - 1]};
  }

  /** The index of the first point with step at least {@code step} (n when none). */
  private int lowerBound(double step) {
    int lo = 0;
    int hi = n;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (x[mid] < step) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
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
  public static double[][] minMax(double[] xs, double[] ys, int buckets) {
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
