package dev.cairn.checkpoint;

/**
 * Something the checkpoint store did or found that a user should see: a save, a checkpoint skipped
 * as invalid, a leftover temporary folder removed, a checkpoint deleted by retention.
 *
 * @param step the step concerned, or -1
 * @param location the folder concerned, for people: an absolute path or a URI
 */
public record CheckpointEvent(Type type, long step, String location, String message) {

  /** What happened. */
  public enum Type {
    SAVED,
    SAVE_FAILED,
    SKIPPED_INVALID,
    REMOVED_LEFTOVER,
    MOVED_ASIDE,
    DELETED_BY_RETENTION;

    /** Whether a person should be warned, not just informed. */
    public boolean isWarning() {
      return this == SAVE_FAILED || this == SKIPPED_INVALID || this == MOVED_ASIDE;
    }
  }
}
