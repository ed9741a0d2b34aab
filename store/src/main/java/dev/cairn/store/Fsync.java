package dev.cairn.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * The one place Cairn makes data durable. Files are forced through their own channel; folders are
 * opened read-only and forced, as Lucene's IOUtils.fsync does, because that is the only way Java
 * can flush a folder's entries (a new file name, a rename) on Linux and macOS.
 */
public final class Fsync {
  private static final boolean FOLDER_SYNC_REQUIRED;

  static {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    FOLDER_SYNC_REQUIRED = os.contains("linux") || os.contains("mac");
  }

  private Fsync() {}

  /** Forces a channel's content and metadata to stable storage. */
  public static void channel(FileChannel channel) throws IOException {
    channel.force(true);
  }

  /**
   * Forces a channel's content, and its metadata only where needed to read the content back (the
   * size after an append): fdatasync, for append-only logs synced often.
   */
  public static void data(FileChannel channel) throws IOException {
    channel.force(false);
  }

  /** Forces a file that is not open. */
  public static void file(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  /**
   * Forces a folder's entries. On platforms that cannot open a folder (Windows) this is a no-op,
   * because there a rename is already durable when it returns; on Linux and macOS a failure is real
   * and is thrown.
   */
  public static void folder(Path folder) throws IOException {
    try (FileChannel ch = FileChannel.open(folder, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      if (FOLDER_SYNC_REQUIRED) {
        throw e;
      }
    }
  }
}
