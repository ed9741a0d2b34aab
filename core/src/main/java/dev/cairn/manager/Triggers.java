package dev.cairn.manager;

import dev.cairn.checkpoint.RetentionPolicy;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Decides, step by step, whether to save and why. Pure logic over the policy, the clock reading and
 * the step's metrics, so tests drive it with no real time passing. Costs a few comparisons per
 * step.
 */
final class Triggers {

  /** Why a save happens; several reasons on one step make one save. */
  enum Reason {
    STEPS,
    TIME,
    BEST,
    REQUEST,
    FINAL,
    SHUTDOWN;
  }

  private final CheckpointPolicy policy;
  private long lastSaveMillis;
  private double best = Double.NaN;
  private double bestBefore = Double.NaN;
  private final Set<Reason> deferred = EnumSet.noneOf(Reason.class);

  Triggers(CheckpointPolicy policy, long nowMillis) {
    this.policy = policy;
    this.lastSaveMillis = nowMillis;
  }

  double best() {
    return best;
  }

  void restoreBest(double value) {
    best = value;
  }

  /**
   * The reasons to save after {@code completed} steps (deferred ones included).
   *
   * @param requested a save request is waiting
   */
  Set<Reason> check(
      long completed, Map<String, Double> metrics, long nowMillis, boolean requested) {
    Set<Reason> out = EnumSet.noneOf(Reason.class);
    out.addAll(deferred);
    if (policy.everySteps() > 0 && completed % policy.everySteps() == 0) {
      out.add(Reason.STEPS);
    }
    if (policy.every() != null && nowMillis - lastSaveMillis >= policy.every().toMillis()) {
      out.add(Reason.TIME);
    }
    if (policy.bestMetric() != null && metrics != null) {
      Double v = metrics.get(policy.bestMetric());
      if (v != null && !v.isNaN() && improves(v)) {
        bestBefore = best;
        best = v;
        out.add(Reason.BEST);
      }
    }
    if (requested) {
      out.add(Reason.REQUEST);
    }
    return out;
  }

  private boolean improves(double v) {
    if (Double.isNaN(best)) {
      return true;
    }
    return policy.bestGoal() == RetentionPolicy.Goal.MIN ? v < best : v > best;
  }

  /** A save was taken now. */
  void saved(long nowMillis) {
    lastSaveMillis = nowMillis;
    deferred.clear();
  }

  /**
   * The best-metric save of the last check was not taken: the best is the saved one again, so the
   * next step that beats it saves (a later step saved under this one's value would be mislabelled).
   */
  void dropBest() {
    best = bestBefore;
  }

  /** Reasons that fired while a save was in flight; they fire again at the next free step. */
  void defer(Set<Reason> reasons) {
    deferred.addAll(reasons);
  }
}
