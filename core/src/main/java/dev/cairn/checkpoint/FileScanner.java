package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Reads a whole file once, front to back, in aligned chunks, through an input opened once with
 * {@link Storage#openSequential} (O_DIRECT for large local files, so a restart after a crash reads
 * at the device's speed and does not push the rest of the page cache out). Reading through an input
 * opened before means a file deleted meanwhile (by retention in another process) is still read
 * whole where the storage allows, never reported as damaged.
 */
final class FileScanner {
  static final int CHUNK_BYTES = 8 << 20;
  private static final int ALIGNMENT = 4096;

  /** Receives consecutive chunks; the buffer is only valid during the call. */
  @FunctionalInterface
  interface ChunkConsumer {
    void accept(long offset, ByteBuffer chunk) throws IOException;
  }

  private FileScanner() {}

  /**
   * Reads {@code size} bytes through an open input, with positional reads only.
   *
   * @param file how the file is named in errors
   * @throws EOFException naming the offset when the file is shorter than {@code size}
   */
  static void scan(Storage.Input in, Path file, long size, ChunkConsumer consumer)
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
        if (in.read(buf, pos + buf.position()) <= 0) {
          throw new EOFException(file + " ends at byte " + (pos + buf.position()));
        }
      }
      buf.flip().limit(want);
      consumer.accept(pos, buf);
      pos += want;
    }
  }

  /** A stream over a whole input from its start (for JSON parts); closing it closes the input. */
  static InputStream stream(Storage.Input in) {
    return new InputStream() {
      private long pos;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        int n = in.read(ByteBuffer.wrap(b, off, len), pos);
        if (n > 0) {
          pos += n;
        }
        return n;
      }

      @Override
      public void close() throws IOException {
        in.close();
      }
    };
  }
}
