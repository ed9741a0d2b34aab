package dev.cairn.checkpoint;

import java.nio.file.Path;
import java.util.List;

/**
 * The outcome of checking one checkpoint folder.
 *
 * @param outcome what was found
 * @param manifest null when the manifest itself could not be read
 * @param problems one line per defect, each naming the file; empty unless {@link Outcome#DAMAGED}
 */
public record VerifyResult(Path folder, Outcome outcome, Manifest manifest, List<String> problems) {

  /** What checking a folder found. */
  public enum Outcome {
    /** Committed and intact at the level asked. */
    INTACT,
    /** Committed (or published) but damaged: {@link #problems()} says how. */
    DAMAGED,
    /** Not a committed checkpoint: a save in flight or abandoned, or a folder set aside. */
    NOT_COMMITTED,
    /** Deleted (by retention, say) while it was being checked: neither intact nor damaged. */
    DELETED
  }

  public VerifyResult {
    problems = List.copyOf(problems);
  }

  /** Committed and intact. */
  public boolean ok() {
    return outcome == Outcome.INTACT;
  }
}
