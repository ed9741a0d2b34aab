package dev.cairn.checkpoint;

/**
 * What a folder in a checkpoint store is. Decided in one place, by the store's commit strategy (see
 * {@link CheckpointStore#classify}): every reader — resume, retention, pinning, the final save,
 * {@code cairn verify}, the dashboard — asks that, never a file name pattern of its own.
 */
public enum CheckpointState {
  /**
   * Published, with a manifest that reads and matches its seal. Whether the data is intact is a
   * separate question, answered at a {@link Verification} level.
   */
  COMMITTED,
  /** Published, but its manifest is missing or damaged: never loaded; kept for a person. */
  DAMAGED,
  /**
   * A save in flight, or abandoned by a crash: never read, never reported as damaged; removed when
   * a writer next opens the store.
   */
  UNCOMMITTED,
  /** Being deleted by retention (or left by a crash during that): never read; removed at open. */
  DELETING,
  /** A damaged checkpoint moved aside before its step was saved again; kept for inspection. */
  SET_ASIDE;

  /** Leftovers a writer removes when it opens the store. */
  public boolean isAbandoned() {
    return this == UNCOMMITTED || this == DELETING;
  }
}
