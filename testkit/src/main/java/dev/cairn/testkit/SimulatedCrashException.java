package dev.cairn.testkit;

import java.io.IOException;

/**
 * Thrown by {@link CrashFileSystem} at the injected crash point and by every mutating operation
 * after it: from then on the "process" is dead and only {@link CrashFileSystem#crash} makes sense.
 */
public final class SimulatedCrashException extends IOException {
  private static final long serialVersionUID = 1L;

  public SimulatedCrashException(String message) {
    super(message);
  }
}
