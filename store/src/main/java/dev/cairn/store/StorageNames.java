package dev.cairn.store;

/**
 * The one rule for names in a {@link Storage}: elements joined by {@code /}, relative to the
 * storage's root, which is the empty name. No element is empty, {@code .} or {@code ..}, and none
 * holds a backslash or NUL, so a name can never climb out of its root on any backend.
 */
public final class StorageNames {
  private StorageNames() {}

  /** Returns the name, or throws IllegalArgumentException saying what is wrong with it. */
  public static String check(String name) {
    if (name == null) {
      throw new IllegalArgumentException("a storage name must not be null");
    }
    if (name.isEmpty()) {
      return name;
    }
    int start = 0;
    while (true) {
      int slash = name.indexOf('/', start);
      String element = slash < 0 ? name.substring(start) : name.substring(start, slash);
      if (element.isEmpty() || element.equals(".") || element.equals("..")) {
        throw new IllegalArgumentException(
            "storage name '"
                + name
                + "' has an empty, '.' or '..' element; use names like 'a/b' relative to the root");
      }
      if (element.indexOf('\\') >= 0 || element.indexOf('\0') >= 0) {
        throw new IllegalArgumentException(
            "storage name '" + name + "' holds a backslash or NUL; use '/' between elements");
      }
      if (slash < 0) {
        return name;
      }
      start = slash + 1;
    }
  }

  /** Returns a name of one element ({@code "a"}, not {@code "a/b"} or the root), or throws. */
  public static String element(String name) {
    if (check(name).isEmpty() || name.indexOf('/') >= 0) {
      throw new IllegalArgumentException(
          "storage name '" + name + "' must be one element, without '/', and not the root");
    }
    return name;
  }

  /** {@code parent/child}; either may be the root {@code ""}. */
  public static String join(String parent, String child) {
    check(parent);
    check(child);
    if (parent.isEmpty()) {
      return child;
    }
    return child.isEmpty() ? parent : parent + "/" + child;
  }

  /** The folder a name is in ({@code ""} for a name directly under the root). */
  public static String parent(String name) {
    check(name);
    if (name.isEmpty()) {
      throw new IllegalArgumentException("the root has no parent");
    }
    int slash = name.lastIndexOf('/');
    return slash < 0 ? "" : name.substring(0, slash);
  }

  /** The last element of a name ({@code ""} for the root). */
  public static String last(String name) {
    check(name);
    return name.substring(name.lastIndexOf('/') + 1);
  }
}
