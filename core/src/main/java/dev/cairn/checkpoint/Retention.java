package dev.cairn.checkpoint;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Decides, without touching the disk, which checkpoints a policy lets go. */
final class Retention {
  private Retention() {}

  /**
   * The checkpoints the policy lets go. Only committed checkpoints are candidates; damaged ones are
   * left for a person to look at. The store deletes a candidate only once a newer kept checkpoint
   * has been read back intact.
   */
  static List<CheckpointInfo> toDelete(List<CheckpointInfo> all, RetentionPolicy policy) {
    List<CheckpointInfo> committed = new ArrayList<>();
    for (CheckpointInfo c : all) {
      if (c.committed()) {
        committed.add(c);
      }
    }
    if (policy.keepsAll() || committed.isEmpty()) {
      return List.of();
    }
    committed.sort(Comparator.comparingLong(CheckpointInfo::step));
    Set<Long> keep = new HashSet<>();
    keep.add(committed.get(committed.size() - 1).step());
    for (int i = Math.max(0, committed.size() - policy.keepLast()); i < committed.size(); i++) {
      keep.add(committed.get(i).step());
    }
    for (CheckpointInfo c : committed) {
      if (c.pinned() || (policy.keepEverySteps() > 0 && c.step() % policy.keepEverySteps() == 0)) {
        keep.add(c.step());
      }
    }
    if (policy.keepBest() > 0) {
      List<CheckpointInfo> ranked = new ArrayList<>();
      for (CheckpointInfo c : committed) {
        Double v = c.manifest().metrics().get(policy.bestMetric());
        if (v != null && !v.isNaN()) {
          ranked.add(c);
        }
      }
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
    for (CheckpointInfo c : committed) {
      if (!keep.contains(c.step())) {
        out.add(c);
      }
    }
    return out;
  }
}
