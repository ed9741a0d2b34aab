package dev.cairn.cli;

import dev.cairn.run.RunStatus;
import java.nio.file.Path;

/** Checks shared by commands that take a RUN_DIR. */
final class RunArgs {
  private RunArgs() {}

  static Path requireRun(Path dir) {
    if (!RunStatus.isRun(dir)) {
      throw new IllegalArgumentException(
          dir + " is not a Cairn run (no run.json); give a folder like runs/NAME");
    }
    return dir;
  }
}
