package dev.cairn.store;

import java.io.IOException;
import java.nio.file.Path;

/** Not enough free space for a write, found before it started or when the disk filled up. */
public final class InsufficientSpaceException extends IOException {
  private static final long serialVersionUID = 1L;

  public InsufficientSpaceException(String message, Throwable cause) {
    super(message, cause);
  }

  /** "not enough space: need X, have Y in DIR". */
  public static InsufficientSpaceException before(long need, long have, Path dir) {
    return new InsufficientSpaceException(
        "not enough space: need "
            + Bytes.human(need)
            + ", have "
            + Bytes.human(have)
            + " in "
            + dir,
        null);
  }

  /** Whether an I/O error is the operating system's "disk full". */
  public static boolean isDiskFull(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (t instanceof InsufficientSpaceException
          || (m != null && (m.contains("No space left on device") || m.contains("Disk quota")))) {
        return true;
      }
    }
    return false;
  }
}
