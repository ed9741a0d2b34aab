package dev.cairn.checkpoint;

/**
 * Which committed checkpoints to keep: the union of the last N, the best K by a metric, every
 * checkpoint whose step is a multiple of M, and every pinned or named one. The newest committed
 * checkpoint is always kept. With no rule set ({@link #keepAll()}) nothing is deleted.
 *
 * @param keepLast keep the newest N (0: rule off)
 * @param keepBest keep the K best by {@code bestMetric} (0: rule off)
 * @param keepEverySteps keep steps that are multiples of this (0: rule off)
 */
public record RetentionPolicy(
    int keepLast, int keepBest, String bestMetric, Goal goal, long keepEverySteps) {

  /** Whether a smaller or a larger metric is better. */
  public enum Goal {
    MIN,
    MAX
  }

  public RetentionPolicy {
    if (keepLast < 0 || keepBest < 0 || keepEverySteps < 0) {
      throw new IllegalArgumentException("retention counts must be 0 (off) or more");
    }
    if (keepBest > 0 && (bestMetric == null || bestMetric.isEmpty() || goal == null)) {
      throw new IllegalArgumentException("keep-best needs a metric name and MIN or MAX");
    }
  }

  /** Keeps every checkpoint. */
  public static RetentionPolicy keepAll() {
    return new RetentionPolicy(0, 0, null, Goal.MIN, 0);
  }

  /** True when no rule is set, so nothing is deleted. */
  public boolean keepsAll() {
    return keepLast == 0 && keepBest == 0 && keepEverySteps == 0;
  }

  /** Starts with keep-all; each call adds a rule to the union. */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds a policy rule by rule. */
  public static final class Builder {
    private int keepLast;
    private int keepBest;
    private String metric;
    private Goal goal = Goal.MIN;
    private long every;

    public Builder keepLast(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("keepLast must be at least 1, was " + n);
      }
      this.keepLast = n;
      return this;
    }

    public Builder keepBest(int k, String metric, Goal goal) {
      if (k < 1) {
        throw new IllegalArgumentException("keepBest must be at least 1, was " + k);
      }
      this.keepBest = k;
      this.metric = metric;
      this.goal = goal;
      return this;
    }

    public Builder keepEvery(long steps) {
      if (steps < 1) {
        throw new IllegalArgumentException("keepEvery must be at least 1 step, was " + steps);
      }
      this.every = steps;
      return this;
    }

    public RetentionPolicy build() {
      return new RetentionPolicy(keepLast, keepBest, metric, goal, every);
    }
  }
}
