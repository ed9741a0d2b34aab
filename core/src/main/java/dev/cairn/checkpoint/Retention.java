package dev.cairn.checkpoint;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Decides which checkpoints a policy lets go, reading only the manifests the policy needs. */
final class Retention {
  private Retention() {}

  /** How retention learns what a listed step is: its manifest is read (or remembered) here. */
  @FunctionalInterface
  interface Lookup {
    /** The checkpoint of a listed step, or null when it is not one (a save in flight, a file). */
    CheckpointInfo info(long step) throws IOException;
  }

  /**
   * What a pass decided: the checkpoints the policy lets go, and the steps it kept in their place
   * by counting (the keep-last newest and the keep-best winners), which the store re-reads before
   * deleting when their manifests were remembered from an earlier pass: a kept checkpoint damaged
   * since must not count as kept.
   */
  record Decision(List<CheckpointInfo> toDelete, Set<Long> counted) {}

  /**
   * The checkpoints the policy lets go. Only committed checkpoints are candidates; damaged ones are
   * left for a person to look at. The store deletes a candidate only once a newer kept checkpoint
   * has been read back intact.
   *
   * <p>A step kept by its number alone (pinned by hand, a multiple of keep-every) is not looked up:
   * whatever its manifest says, it is not deleted. The newest steps are looked up until keep-last
   * committed ones are found; every other step is looked up, because it is a candidate unless it is
   * damaged or named. With keep-best, every step is looked up (the metrics rank all of them). So
   * the lookups grow with what the policy lets go and with keep-last, not with what it keeps by
   * number.
   *
   * @param steps the listed steps, oldest first
   * @param pins the steps pinned by hand
   */
  static Decision decide(List<Long> steps, Set<Long> pins, RetentionPolicy policy, Lookup lookup)
      throws IOException {
    if (policy.keepsAll() || steps.isEmpty()) {
      return new Decision(List.of(), Set.of());
    }
    Set<Long> keep = new HashSet<>();
    // The newest committed checkpoint is always kept, and the keep-last newest committed ones.
    int wanted = Math.max(1, policy.keepLast());
    for (int i = steps.size() - 1; i >= 0 && wanted > 0; i--) {
      CheckpointInfo c = lookup.info(steps.get(i));
      if (c != null && c.committed()) {
        keep.add(c.step());
        wanted--;
      }
    }
    boolean ranking = policy.keepBest() > 0;
    long every = policy.keepEverySteps();
    List<CheckpointInfo> candidates = new ArrayList<>();
    List<CheckpointInfo> ranked = new ArrayList<>();
    for (long step : steps) {
      boolean kept = keep.contains(step) || pins.contains(step) || (every > 0 && step % every == 0);
      if (kept && !ranking) {
        continue;
      }
      CheckpointInfo c = lookup.info(step);
      if (c == null || !c.committed()) {
        continue;
      }
      if (ranking) {
        Double v = c.manifest().metrics().get(policy.bestMetric());
        if (v != null && !v.isNaN()) {
          ranked.add(c);
        }
      }
      if (!kept && !c.pinned()) {
        candidates.add(c);
      }
    }
    if (ranking) {
      Comparator<CheckpointInfo> byMetric =
          Comparator.comparingDouble(c -> c.manifest().metrics().get(policy.bestMetric()));
      if (policy.goal() == RetentionPolicy.Goal.MAX) {
        byMetric = byMetric.reversed();
      }
      // Ties go to the newer checkpoint.
      ranked.sort(
          byMetric.thenComparing(Comparator.comparingLong(CheckpointInfo::step).reversed()));
      for (int i = 0; i < Math.min(policy.keepBest(), ranked.size()); i++) {
        keep.add(ranked.get(i).step());
      }
    }
    List<CheckpointInfo> out = new ArrayList<>();
    for (CheckpointInfo c : candidates) {
      if (!keep.contains(c.step())) {
        out.add(c);
      }
    }
    return new Decision(out, keep);
  }
}
