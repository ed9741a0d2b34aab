package dev.cairn.store;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one write-then-rename in Cairn: replaces a small file as a whole (run.json, progress.json,
 * results.json, control requests, plots, the dashboard's token) by writing a temporary file beside
 * it ({@code .NAME.tmp-<random>}) and renaming it over the old one. Readers see the old or the new
 * content, never a mix. How much a power cut may take is the one {@link Sync} parameter.
 */
public final class AtomicFile {
  private AtomicFile() {}

  /** How durable a replacement is when {@code write} returns. */
  public enum Sync {
    /**
     * Handed to the OS only: survives a crash of the process, a power cut may leave the old content
     * (never a mix). For files rewritten often whose loss costs nothing (plots).
     */
    OS_BUFFERED,
    /**
     * The new file's bytes and the folder entry of the rename are forced to stable storage: after
     * return, a power cut leaves the new content.
     */
    DURABLE
  }

  /** Writes the content of a file being replaced. */
  @FunctionalInterface
  public interface Content {
    void writeTo(OutputStream out) throws IOException;
  }

  /** Replaces {@code file} with {@code content}. */
  public static void write(Path file, byte[] content, Sync sync) throws IOException {
    write(file, out -> out.write(content), sync);
  }

  /**
   * Replaces {@code file} with what {@code content} writes; on any failure the temporary file is
   * removed and {@code file} is unchanged.
   *
   * @param attributes of the temporary file (and so of the result), e.g. owner-only permissions
   */
  public static void write(Path file, Content content, Sync sync, FileAttribute<?>... attributes)
      throws IOException {
    Path abs = file.toAbsolutePath();
    Path dir = abs.getParent();
    Path name = abs.getFileName();
    if (dir == null || name == null) {
      throw new IllegalArgumentException("cannot replace a file system root: " + file);
    }
    Path tmp =
        dir.resolve(
            prefix(name.toString())
                + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1));
    try {
      try (FileChannel ch =
          FileChannel.open(
              tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attributes)) {
        OutputStream out = Channels.newOutputStream(ch);
        content.writeTo(out);
        out.flush();
        if (sync == Sync.DURABLE) {
          Fsync.channel(ch);
        }
      }
      try {
        Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        // A file system without atomic rename (some network mounts): still never half a file in
        // place of the old one on the file systems Cairn supports for run folders.
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
      }
      if (sync == Sync.DURABLE) {
        Fsync.folder(dir);
      }
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /**
   * Deletes the temporary files a crash left beside {@code file} (they are never read: the rename
   * is what publishes). Returns the files removed.
   */
  public static List<Path> removeLeftovers(Path file) throws IOException {
    Path abs = file.toAbsolutePath();
    Path dir = abs.getParent();
    Path name = abs.getFileName();
    List<Path> removed = new ArrayList<>();
    if (dir == null || name == null || !Files.isDirectory(dir)) {
      return removed;
    }
    String prefix = prefix(name.toString());
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, p -> isLeftover(p, prefix))) {
      for (Path p : s) {
        if (Files.deleteIfExists(p)) {
          removed.add(p);
        }
      }
    }
    return removed;
  }

  private static boolean isLeftover(Path p, String prefix) {
    Path n = p.getFileName();
    return n != null && n.toString().startsWith(prefix) && Files.isRegularFile(p);
  }

  private static String prefix(String name) {
    return "." + name + ".tmp-";
  }
}
