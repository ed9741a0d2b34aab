package dev.cairn.coordination;

import java.io.IOException;
import java.util.List;

/**
 * A collective call that cannot complete: a timeout, a lost or departed rank, calls that do not
 * match, or a rank refused when it joined. The message names the call and the ranks; {@link
 * #missingRanks()} lists the ranks that were waited for in vain (empty when none applies).
 */
public class CoordinationException extends IOException {
  private static final long serialVersionUID = 1L;

  private final List<Integer> missingRanks;

  public CoordinationException(String message, List<Integer> missingRanks) {
    super(message);
    this.missingRanks = List.copyOf(missingRanks);
  }

  public CoordinationException(String message, List<Integer> missingRanks, Throwable cause) {
    super(message, cause);
    this.missingRanks = List.copyOf(missingRanks);
  }

  /** The ranks that did not arrive or were lost, in ascending order. */
  public List<Integer> missingRanks() {
    return missingRanks;
  }
}
