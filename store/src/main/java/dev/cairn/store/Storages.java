package dev.cairn.store;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * Storage chosen by location: a plain path or a {@code file:} URI is the local disk; any other
 * scheme goes to the first {@link StorageProvider} on the classpath that handles it.
 */
public final class Storages {
  private Storages() {}

  /** The scheme of a location in lower case, or empty for a plain path. */
  public static String scheme(String location) {
    int colon = location.indexOf(':');
    // One letter before the colon is a Windows drive, not a scheme.
    if (colon <= 1) {
      return "";
    }
    String s = location.substring(0, colon);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(Character.isLetterOrDigit(c) || c == '+' || c == '-' || c == '.')) {
        return "";
      }
    }
    s = s.toLowerCase(Locale.ROOT);
    // "name:/x" is a file name with a colon for any scheme but file, which Java and Hadoop write
    // with one slash (file:/tmp/runs) as often as with three.
    boolean authority = location.startsWith("//", colon + 1);
    boolean fileUri = s.equals("file") && location.startsWith("/", colon + 1);
    return authority || fileUri ? s : "";
  }

  /** Whether a location is on the local disk (a plain path or a {@code file:} URI). */
  public static boolean isLocal(String location) {
    String s = scheme(location);
    return s.isEmpty() || s.equals("file");
  }

  /**
   * The local path of a location for which {@link #isLocal} holds.
   *
   * @throws IllegalArgumentException for what reads as a URI with one slash too few, such as {@code
   *     s3a:/bucket/runs}, which would otherwise become a local folder named {@code s3a:}
   */
  public static Path localPath(String location) {
    int colon = location.indexOf(':');
    if (scheme(location).isEmpty()
        && colon > 1
        && location.startsWith("/", colon + 1)
        && location.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*")) {
      String s = location.substring(0, colon);
      throw new IllegalArgumentException(
          "'"
              + location
              + "' reads as a "
              + s
              + ": URI with one slash: write "
              + s
              + "://"
              + location.substring(colon + 2)
              + " (or ./"
              + location
              + " for a local folder of that name)");
    }
    if (scheme(location).equals("file")) {
      try {
        return Path.of(new URI(location));
      } catch (URISyntaxException | IllegalArgumentException e) {
        String why = e instanceof URISyntaxException u ? u.getReason() : e.getMessage();
        throw new IllegalArgumentException(
            "'"
                + location
                + "' is not a file URI of this machine ("
                + why
                + "): write file:///absolute/path (a space as %20) or a plain path",
            e);
      }
    }
    return Path.of(location);
  }

  /**
   * Opens storage rooted at a location, which need not exist yet.
   *
   * @throws IllegalArgumentException naming the scheme and what to do when nothing handles it
   */
  public static Storage open(String location, Map<String, String> settings) throws IOException {
    if (isLocal(location)) {
      return Storage.at(localPath(location));
    }
    String scheme = scheme(location);
    URI uri;
    try {
      uri = new URI(location);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "'" + location + "' is not a valid URI (" + e.getReason() + "); check its spelling", e);
    }
    for (StorageProvider p : ServiceLoader.load(StorageProvider.class)) {
      if (p.handles(scheme)) {
        return p.open(uri, settings);
      }
    }
    throw new IllegalArgumentException(
        "no storage for scheme '"
            + scheme
            + "' in "
            + location
            + ": use a local path, or put cairn-hadoop (and the Hadoop FileSystem for that scheme)"
            + " on the classpath");
  }
}
