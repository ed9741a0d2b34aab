package dev.cairn.checkpoint;

import dev.cairn.store.StorageNames;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The names of checkpoint folders: published ({@code step-N}), in flight ({@code
 * step-N.tmp-<hex>}), being deleted ({@code step-N.deleting-<hex>}), set aside ({@code
 * step-N.damaged-<hex>}). The only place these names are spelled; what a name means for a given
 * store is the commit strategy's call.
 */
final class StepFolders {
  private static final Pattern PUBLISHED = Pattern.compile("step-(0|[1-9][0-9]{0,18})");
  private static final Pattern SUFFIXED =
      Pattern.compile("step-[0-9]+\\.(tmp|deleting|damaged|corrupt)-[0-9a-f]+");
  static final String PINNED_FOLDER = "pinned";
  static final String LOCK_FILE = ".lock";
  static final String PIN_LOCK_FILE = ".pins.lock";

  /** The kind of name a folder has. */
  enum NameKind {
    PUBLISHED,
    TEMPORARY,
    DELETING,
    SET_ASIDE,
    OTHER
  }

  private StepFolders() {}

  /** A storage name's last element; IllegalArgumentException for the root. */
  static String fileName(String name) {
    String n = StorageNames.last(name);
    if (n.isEmpty()) {
      throw new IllegalArgumentException("expected a file or folder, got the storage's root");
    }
    return n;
  }

  static String name(long step) {
    return "step-" + step;
  }

  /** The step of a published-looking folder name, or -1. */
  static long step(String folder) {
    Matcher m = PUBLISHED.matcher(fileName(folder));
    if (!m.matches()) {
      return -1;
    }
    try {
      return Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  static NameKind kind(String folder) {
    String n = fileName(folder);
    if (step(folder) >= 0) {
      return NameKind.PUBLISHED;
    }
    Matcher m = SUFFIXED.matcher(n);
    if (!m.matches()) {
      return NameKind.OTHER;
    }
    switch (m.group(1)) {
      case "tmp":
        return NameKind.TEMPORARY;
      case "deleting":
        return NameKind.DELETING;
      default:
        return NameKind.SET_ASIDE; // "corrupt" is the name earlier versions used
    }
  }

  static String temporary(long step, String random) {
    return name(step) + ".tmp-" + random;
  }

  static String deleting(long step, String random) {
    return name(step) + ".deleting-" + random;
  }

  static String damaged(long step, String random) {
    return name(step) + ".damaged-" + random;
  }
}
