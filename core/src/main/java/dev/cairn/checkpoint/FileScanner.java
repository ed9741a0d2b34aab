package dev.cairn.checkpoint;

import com.sun.nio.file.ExtendedOpenOption;
import dev.cairn.store.Storage;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads a whole file once, front to back, in aligned chunks, through a channel opened once. Large
 * files are read with O_DIRECT where the file system allows: a restart after a crash then reads at
 * the device's speed, and does not push the rest of the page cache out. Reading through a channel
 * that was opened before means a file deleted meanwhile (by retention in another process) is still
 * read whole, never reported as damaged.
 */
final class FileScanner {
  static final int CHUNK_BYTES = 8 << 20;
  private static final long DIRECT_READ_BYTES = 64L << 20;
  private static final int ALIGNMENT = 4096;

  /** Receives consecutive chunks; the buffer is only valid during the call. */
  @FunctionalInterface
  interface ChunkConsumer {
    void accept(long offset, ByteBuffer chunk) throws IOException;
  }

  private FileScanner() {}

  /**
   * Reads {@code size} bytes of {@code file}.
   *
   * @throws EOFException naming the offset when the file is shorter than {@code size}
   */
  static void scan(Storage storage, Path file, long size, ChunkConsumer consumer)
      throws IOException {
    try (FileChannel ch = open(storage, file, size)) {
      scan(ch, file, size, consumer);
    }
  }

  /** Reads {@code size} bytes through an open channel, with positional reads only. */
  static void scan(FileChannel ch, Path file, long size, ChunkConsumer consumer)
      throws IOException {
    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES + ALIGNMENT).alignedSlice(ALIGNMENT);
    buf.limit(CHUNK_BYTES);
    buf = buf.slice();
    long pos = 0;
    while (pos < size) {
      // Whole aligned chunks: O_DIRECT needs them, and the last read just returns short.
      buf.clear();
      int want = (int) Math.min(CHUNK_BYTES, size - pos);
      while (buf.position() < want) {
        if (ch.read(buf, pos + buf.position()) <= 0) {
          throw new EOFException(file + " ends at byte " + (pos + buf.position()));
        }
      }
      buf.flip().limit(want);
      consumer.accept(pos, buf);
      pos += want;
    }
  }

  /** Opens a file for {@link #scan}: with O_DIRECT when it is large and the file system allows. */
  static FileChannel open(Storage storage, Path file, long size) throws IOException {
    if (size >= DIRECT_READ_BYTES
        && file.getFileSystem().equals(java.nio.file.FileSystems.getDefault())) {
      try {
        return FileChannel.open(file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT);
      } catch (java.nio.file.NoSuchFileException e) {
        throw e;
      } catch (IOException | UnsupportedOperationException e) {
        // Not supported here (tmpfs and others): read through the page cache.
      }
    }
    return storage.openRead(file);
  }
}
