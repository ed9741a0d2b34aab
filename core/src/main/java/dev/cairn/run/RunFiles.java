package dev.cairn.run;

import java.nio.file.Path;

/** Where each file of a run folder lives (PRODUCT.md, "The run directory"). */
public record RunFiles(Path dir) {
  /** The name of {@link #metricsSidecar()}, for the mirror that leaves it out. */
  static final String METRICS_SIDECAR = "metrics.bin";

  public Path runJson() {
    return dir.resolve("run.json");
  }

  public Path sessions() {
    return dir.resolve("sessions.jsonl");
  }

  public Path metrics() {
    return dir.resolve("metrics.jsonl");
  }

  /**
   * A binary copy of metrics.jsonl's records, kept by the job as it logs so that readers (the
   * dashboard) load a long run quickly; a cache that may lag or be missing, never the truth.
   */
  public Path metricsSidecar() {
    return dir.resolve(METRICS_SIDECAR);
  }

  /** System metrics (CPU, memory, disk, GPUs), one JSON object per sample. */
  public Path system() {
    return dir.resolve("system.jsonl");
  }

  public Path events() {
    return dir.resolve("events.jsonl");
  }

  public Path progress() {
    return dir.resolve("progress.json");
  }

  public Path results() {
    return dir.resolve("results.json");
  }

  public Path trainingLog() {
    return dir.resolve("training.log");
  }

  public Path checkpoints() {
    return dir.resolve("checkpoints");
  }

  public Path plots() {
    return dir.resolve("plots");
  }

  public Path control() {
    return dir.resolve("control");
  }

  /**
   * What rank {@code rank} of a group writes of its own (its metrics and heartbeat), as a folder
   * laid out like a run folder: {@code ranks/rank-R}. Rank 0 writes the run folder itself.
   */
  public RunFiles rank(int rank) {
    return new RunFiles(dir.resolve(RANKS).resolve("rank-" + rank));
  }

  /**
   * Where rank {@code rank} of the run's group keeps its metrics and heartbeat: this folder for
   * rank 0 (which keeps the run as a process alone does), {@link #rank} for the others.
   *
   * @throws IllegalArgumentException when {@code rank} is negative
   */
  public RunFiles forRank(int rank) {
    if (rank < 0) {
      throw new IllegalArgumentException("a rank is 0 or more, not " + rank);
    }
    return rank == 0 ? this : rank(rank);
  }

  /** The folder of every rank's own files in a run of several ranks. */
  public Path ranks() {
    return dir.resolve(RANKS);
  }

  static final String RANKS = "ranks";

  /** TensorBoard event files, one per session (the tensorboard module names them). */
  public Path tensorboard() {
    return dir.resolve("tb");
  }
}
