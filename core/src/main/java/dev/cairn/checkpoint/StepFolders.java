package dev.cairn.checkpoint;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The names of checkpoint folders: committed, in flight, being deleted, set aside. */
final class StepFolders {
  private static final Pattern COMMITTED = Pattern.compile("step-(0|[1-9][0-9]{0,18})");
  private static final Pattern LEFTOVER = Pattern.compile("step-[0-9]+\\.(tmp|deleting)-[0-9a-f]+");
  static final String PINNED_FOLDER = "pinned";
  static final String LOCK_FILE = ".lock";

  private StepFolders() {}

  /** A path's last element; IllegalArgumentException for a file system root. */
  static String fileName(Path p) {
    Path n = p.getFileName();
    if (n == null) {
      throw new IllegalArgumentException("expected a file or folder, got the root " + p);
    }
    return n.toString();
  }

  static String name(long step) {
    return "step-" + step;
  }

  /** The step of a committed-looking folder name, or -1. */
  static long step(Path folder) {
    Matcher m = COMMITTED.matcher(fileName(folder));
    if (!m.matches()) {
      return -1;
    }
    try {
      return Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** A temporary folder of a save in flight or abandoned, or of a deletion: never read. */
  static boolean isLeftover(Path folder) {
    return LEFTOVER.matcher(fileName(folder)).matches();
  }

  static String temporary(long step, String random) {
    return name(step) + ".tmp-" + random;
  }

  static String deleting(long step, String random) {
    return name(step) + ".deleting-" + random;
  }

  static String corrupt(long step, String random) {
    return name(step) + ".corrupt-" + random;
  }
}
