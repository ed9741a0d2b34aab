package dev.cairn.run;

import java.io.IOException;
import java.nio.file.Path;

/** Where a training job starts: {@code try (Run run = Cairn.open(runsDir, options)) { ... }}. */
public final class Cairn {
  private Cairn() {}

  /**
   * Opens the run {@code runsDir/<name>}, creating it, or resuming it when it exists: a new session
   * starts, leftovers of a crash are cleaned up, and a changed config is refused (or recorded, when
   * allowed).
   *
   * @throws ConfigChangedException when the config differs and the options do not allow it
   */
  public static Run open(Path runsDir, RunOptions options) throws IOException {
    return DefaultRun.open(runsDir, options);
  }
}
