package dev.cairn.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Replaces a small file as a whole (progress.json, run.json, results.json): write a temporary file
 * beside it, optionally fsync, rename over the old one. Readers see the old or the new content,
 * never a mix.
 */
public final class AtomicFile {
  private AtomicFile() {}

  /**
   * @param durable fsync the file and its folder (for files that must survive a power cut;
   *     progress.json, rewritten every few seconds, does not need it)
   */
  public static void write(Path file, byte[] content, boolean durable) throws IOException {
    Path abs = file.toAbsolutePath();
    Path dir = abs.getParent();
    Path name = abs.getFileName();
    if (dir == null || name == null) {
      throw new IllegalArgumentException("cannot replace a file system root: " + file);
    }
    Path tmp =
        dir.resolve(
            "." + name + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    try {
      try (FileChannel ch =
          FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.wrap(content);
        while (b.hasRemaining()) {
          ch.write(b);
        }
        if (durable) {
          Fsync.channel(ch);
        }
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      if (durable) {
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
}
