package dev.cairn.run;

import java.nio.file.Path;
import java.util.Locale;

/** The platform's per-user folders that Cairn keeps shared state in. */
public final class UserFolders {
  private UserFolders() {}

  /**
   * The platform's folder for a user's caches: {@code $XDG_CACHE_HOME} or {@code ~/.cache} on
   * Linux, {@code ~/Library/Caches} on macOS, {@code %LOCALAPPDATA%} on Windows.
   */
  public static Path cache() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    Path home = Path.of(System.getProperty("user.home"));
    if (os.contains("win")) {
      String local = System.getenv("LOCALAPPDATA");
      return local != null && !local.isBlank() ? Path.of(local) : home.resolve("AppData/Local");
    }
    if (os.contains("mac")) {
      return home.resolve("Library").resolve("Caches");
    }
    String xdg = System.getenv("XDG_CACHE_HOME");
    return xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()
        ? Path.of(xdg)
        : home.resolve(".cache");
  }
}
