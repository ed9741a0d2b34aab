package dev.cairn.checkpoint;

import java.nio.file.Path;

/**
 * A checkpoint saved by one number of ranks, opened by a group of another. Cairn does not reshard
 * checkpoints: a job resumes with the number of ranks that saved it.
 */
public final class WorldSizeMismatchException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  WorldSizeMismatchException(Path folder, int saved, int opening) {
    super(
        "checkpoint "
            + folder
            + " was saved by "
            + ranks(saved)
            + " and this job has "
            + ranks(opening)
            + ": resume it with "
            + ranks(saved)
            + " (cairn launch --nproc "
            + saved
            + "); Cairn does not reshard checkpoints");
  }

  /** The same refusal, as another rank reported it. */
  WorldSizeMismatchException(String message) {
    super(message);
  }

  private static String ranks(int n) {
    return n == 1 ? "1 process" : n + " ranks";
  }
}
