package dev.cairn.checkpoint;

import java.util.regex.Pattern;

/**
 * Names that users give (checkpoints, parts, runs) and that may end up in file names: letters,
 * digits, dot, dash and underscore, 1 to 64 of them, and never "." or "..".
 */
public final class Names {
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  private Names() {}

  public static boolean isSafe(String name) {
    return name != null && SAFE.matcher(name).matches() && !name.equals(".") && !name.equals("..");
  }

  /** Returns the name, or throws IllegalArgumentException saying what a name may contain. */
  public static String requireSafe(String name, String what) {
    if (!isSafe(name)) {
      throw new IllegalArgumentException(
          what
              + " '"
              + name
              + "' is not allowed: use 1 to 64 letters, digits, '.', '-' or '_' (not '.' or '..')");
    }
    return name;
  }
}
