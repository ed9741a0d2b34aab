package dev.cairn.cli.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where DJL unpacks the PyTorch native library (about 430 MiB): one folder per user, shared by
 * every run and runs folder, so a new {@code --dir} does not pay for it again. In order: {@code
 * --engine-cache DIR}, the system property {@value #PROPERTY}, the environment variable {@value
 * #ENV}, then the platform's user cache folder ({@code $XDG_CACHE_HOME/cairn/engine} or {@code
 * ~/.cache/cairn/engine} on Linux, {@code ~/Library/Caches/cairn/engine} on macOS, {@code
 * %LOCALAPPDATA%\cairn\engine} on Windows). DJL's own {@code DJL_CACHE_DIR} and {@code
 * ENGINE_CACHE_DIR}, when set, still win: DJL reads them itself.
 */
public final class EngineCache {
  /** System property naming the engine cache folder. */
  public static final String PROPERTY = "cairn.engine.cache";

  /** Environment variable naming the engine cache folder. */
  public static final String ENV = "CAIRN_ENGINE_CACHE";

  /** Room the unpacked engine takes: PyTorch 2.7 for CPU measured 432 MiB; some slack. */
  static final long NEEDED_BYTES = 450L << 20;

  private EngineCache() {}

  /**
   * The engine cache folder.
   *
   * @param explicit {@code --engine-cache}, or null
   */
  public static Path resolve(Path explicit) {
    if (explicit != null) {
      return explicit.toAbsolutePath();
    }
    String p = System.getProperty(PROPERTY);
    if (p != null && !p.isBlank()) {
      return Path.of(p).toAbsolutePath();
    }
    String e = System.getenv(ENV);
    if (e != null && !e.isBlank()) {
      return Path.of(e).toAbsolutePath();
    }
    return dev.cairn.run.UserFolders.cache().resolve("cairn").resolve("engine");
  }

  /** Whether a failure loading the engine is its native library failing to unpack. */
  static boolean isExtractionFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
      if (m.contains("extract") || m.contains("no space left")) {
        return true;
      }
    }
    return false;
  }

  /** The one line a user reads when the engine could not be unpacked into {@code dir}. */
  static IOException extractionFailed(Path dir, Throwable cause) {
    String free;
    try {
      Path existing = dir;
      while (existing != null && !Files.exists(existing)) {
        existing = existing.getParent();
      }
      free =
          existing == null
              ? "unknown"
              : dev.cairn.store.Bytes.human(Files.getFileStore(existing).getUsableSpace());
    } catch (IOException | RuntimeException e) {
      free = "unknown";
    }
    return new IOException(
        "the PyTorch engine could not be unpacked into "
            + dir
            + ": it needs about "
            + dev.cairn.store.Bytes.human(NEEDED_BYTES)
            + " there, "
            + free
            + " is free. Free some space, or move the engine cache with --engine-cache DIR (or"
            + " the environment variable "
            + ENV
            + ")",
        cause);
  }
}
