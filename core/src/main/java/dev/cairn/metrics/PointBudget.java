package dev.cairn.metrics;

import java.util.concurrent.atomic.AtomicLong;

/**
 * How many points (16 bytes each: a step and a value) all the series sharing this budget may hold
 * at once. A series starts with room for {@link Series#INITIAL_CAPACITY} points, always granted,
 * and grows only with the budget's consent; refused, it averages neighbouring points pairwise
 * instead (the curve keeps its shape, with fewer points). Past {@link #FAIR_FLOOR} points a series
 * grows only while it holds no more than its fair share (the limit divided by the series on the
 * budget), so the first run read cannot take the room of the next. One budget shared by every run a
 * server follows bounds that server's memory whatever the files hold. Thread-safe.
 */
public final class PointBudget {
  private static final PointBudget UNLIMITED = new PointBudget(Long.MAX_VALUE);

  /** A series may grow to this many points whatever its share, while the budget has room. */
  public static final int FAIR_FLOOR = 4096;

  private final long limit;
  private final AtomicLong held = new AtomicLong();
  private final AtomicLong series = new AtomicLong();

  private PointBudget(long limit) {
    this.limit = limit;
  }

  /**
   * A budget of {@code points}; IllegalArgumentException below 1,024.
   *
   * @param points the most points held at once, beyond each series' initial room
   */
  public static PointBudget of(long points) {
    if (points < 1024) {
      throw new IllegalArgumentException(
          "a point budget needs at least 1024 points, not " + points);
    }
    return new PointBudget(points);
  }

  /** No limit but each series' own (a single reader, such as the plotter or the CLI). */
  public static PointBudget unlimited() {
    return UNLIMITED;
  }

  /** A new series joins with its initial room, granted whether or not it fits. */
  void join(long initial) {
    series.incrementAndGet();
    held.addAndGet(initial);
  }

  /** A series leaves, giving back the room it held. */
  void leave(long capacity) {
    series.decrementAndGet();
    held.addAndGet(-capacity);
  }

  /**
   * Whether a series may grow from {@code from} to {@code to} points; the difference is taken when
   * it may.
   */
  boolean tryGrow(long from, long to) {
    if (to > FAIR_FLOOR && to > limit / Math.max(1, series.get())) {
      return false;
    }
    long more = to - from;
    while (true) {
      long h = held.get();
      if (more > limit - h) {
        return false;
      }
      if (held.compareAndSet(h, h + more)) {
        return true;
      }
    }
  }

  /** Points held now, by all series on this budget. */
  public long held() {
    return held.get();
  }

  /** The limit given to {@link #of}. */
  public long limit() {
    return limit;
  }
}
