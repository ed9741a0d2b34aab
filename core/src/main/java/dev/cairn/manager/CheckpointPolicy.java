package dev.cairn.manager;

import dev.cairn.checkpoint.RetentionPolicy;
import java.time.Duration;
import java.util.Objects;

/**
 * When a {@link CheckpointManager} saves and what it keeps. Defaults: a save at least every 5
 * minutes of wall time (at most 5 minutes of work lost), a final save, a last save on SIGTERM or
 * SIGINT within a 30 s grace time, asynchronous saves, keep every checkpoint.
 *
 * @param everySteps save when the number of completed steps is a multiple of this (0: off)
 * @param every save when this much wall time has passed since the last save (null: off)
 * @param bestMetric save whenever this metric improves (null: off)
 * @param lossMetric the metric whose continuity is checked after a resume (null: off)
 * @param lossJumpThreshold relative change of the loss after a resume that is reported
 * @param sha256 whether each saved file's SHA-256 is recorded besides its chunks' CRC32C (see
 *     {@link dev.cairn.checkpoint.CheckpointStore.Builder#sha256})
 */
public record CheckpointPolicy(
    long everySteps,
    Duration every,
    String bestMetric,
    RetentionPolicy.Goal bestGoal,
    RetentionPolicy retention,
    boolean async,
    boolean saveOnShutdown,
    Duration shutdownGrace,
    String lossMetric,
    double lossJumpThreshold,
    int lossWindow,
    boolean sha256) {

  public CheckpointPolicy {
    if (everySteps < 0) {
      throw new IllegalArgumentException("everySteps must be 0 (off) or more");
    }
    if (every != null && (every.isNegative() || every.isZero())) {
      throw new IllegalArgumentException("the time trigger must be a positive duration");
    }
    Objects.requireNonNull(retention, "retention");
    Objects.requireNonNull(shutdownGrace, "shutdownGrace");
    if (lossJumpThreshold <= 0 || lossWindow < 1) {
      throw new IllegalArgumentException("loss continuity needs a positive threshold and window");
    }
  }

  /** The defaults described above. */
  public static CheckpointPolicy defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a policy; each setter validates its value. */
  public static final class Builder {
    private long everySteps;
    private Duration every = Duration.ofMinutes(5);
    private String bestMetric;
    private RetentionPolicy.Goal bestGoal = RetentionPolicy.Goal.MIN;
    private RetentionPolicy retention = RetentionPolicy.keepAll();
    private boolean async = true;
    private boolean saveOnShutdown = true;
    private Duration shutdownGrace = Duration.ofSeconds(30);
    private String lossMetric = "loss";
    private double lossJumpThreshold = 0.5;
    private int lossWindow = 50;
    private boolean sha256;

    public Builder everySteps(long n) {
      if (n < 1) {
        throw new IllegalArgumentException("everySteps must be at least 1, was " + n);
      }
      this.everySteps = n;
      return this;
    }

    /** Wall-time trigger; null turns it off. */
    public Builder every(Duration d) {
      this.every = d;
      return this;
    }

    /** Saves whenever {@code metric} reaches a new best (no patience). */
    public Builder onBest(String metric, RetentionPolicy.Goal goal) {
      this.bestMetric = Objects.requireNonNull(metric, "metric");
      this.bestGoal = Objects.requireNonNull(goal, "goal");
      return this;
    }

    public Builder retention(RetentionPolicy r) {
      this.retention = Objects.requireNonNull(r, "retention");
      return this;
    }

    /** False makes every save block the training thread until it is durable. */
    public Builder async(boolean async) {
      this.async = async;
      return this;
    }

    public Builder saveOnShutdown(boolean save, Duration grace) {
      this.saveOnShutdown = save;
      this.shutdownGrace = Objects.requireNonNull(grace, "grace");
      return this;
    }

    /** Which metric to watch after a resume, the relative jump to report, and the window. */
    public Builder lossContinuity(String metric, double threshold, int window) {
      this.lossMetric = metric;
      this.lossJumpThreshold = threshold;
      this.lossWindow = window;
      return this;
    }

    /** Also records each file's SHA-256 (default: off; CRC32C is always recorded and checked). */
    public Builder sha256(boolean record) {
      this.sha256 = record;
      return this;
    }

    public CheckpointPolicy build() {
      return new CheckpointPolicy(
          everySteps,
          every,
          bestMetric,
          bestGoal,
          retention,
          async,
          saveOnShutdown,
          shutdownGrace,
          lossMetric,
          lossJumpThreshold,
          lossWindow,
          sha256);
    }
  }
}
