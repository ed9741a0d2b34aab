package dev.cairn.checkpoint;

import dev.cairn.concurrent.DaemonThreads;
import dev.cairn.store.Storage;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Reads a whole file once, front to back, in aligned chunks, through an input opened once with
 * {@link Storage#openSequential} (O_DIRECT for large local files, so a restart after a crash reads
 * at the device's speed and does not push the rest of the page cache out). Reading through an input
 * opened before means a file deleted meanwhile (by retention in another process) is still read
 * whole where the storage allows, never reported as damaged.
 */
final class FileScanner {
  static final int CHUNK_BYTES = 8 << 20;

  /** Reads the next chunk of a scan while its consumer handles the current one. */
  private static final ExecutorService READ_AHEAD =
      Executors.newCachedThreadPool(DaemonThreads.named("cairn-read-ahead"));

  private static final int ALIGNMENT = 4096;

  /** Receives consecutive chunks; the buffer is only valid during the call. */
  @FunctionalInterface
  interface ChunkConsumer {
    void accept(long offset, ByteBuffer chunk) throws IOException;
  }

  private FileScanner() {}

  /**
   * Reads {@code size} bytes through an open input, with positional reads only. A file of more than
   * one chunk is read ahead: the next chunk is read (on a cairn-read-ahead thread) while the
   * consumer checks and copies the current one, so the CRC32C and the copies cost no time beside
   * the reads. The consumer runs on the caller's thread, one chunk at a time, in order.
   *
   * @param file how the file is named in errors
   * @throws EOFException naming the offset when the file is shorter than {@code size}
   */
  static void scan(Storage.Input in, Path file, long size, ChunkConsumer consumer)
      throws IOException {
    if (size <= CHUNK_BYTES) {
      consumer.accept(0, fill(in, file, alignedChunk(), 0, (int) size));
      return;
    }
    ByteBuffer[] buffers = {alignedChunk(), alignedChunk()};
    Future<ByteBuffer> next = readAhead(in, file, buffers[0], 0, size);
    boolean done = false;
    try {
      long pos = 0;
      for (int k = 1; pos < size; k++) {
        ByteBuffer chunk = await(next);
        long following = pos + chunk.remaining();
        // The other buffer's chunk was consumed in the previous round: it can be refilled.
        next = following < size ? readAhead(in, file, buffers[k % 2], following, size) : null;
        consumer.accept(pos, chunk);
        pos = following;
      }
      done = true;
    } finally {
      if (!done && next != null) {
        settle(next);
      }
    }
  }

  private static ByteBuffer alignedChunk() {
    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES + ALIGNMENT).alignedSlice(ALIGNMENT);
    buf.limit(CHUNK_BYTES);
    return buf.slice();
  }

  private static Future<ByteBuffer> readAhead(
      Storage.Input in, Path file, ByteBuffer buf, long pos, long size) {
    int want = (int) Math.min(CHUNK_BYTES, size - pos);
    return READ_AHEAD.submit(() -> fill(in, file, buf, pos, want));
  }

  /** Reads {@code want} bytes at {@code pos}: whole aligned chunks (O_DIRECT needs them). */
  private static ByteBuffer fill(Storage.Input in, Path file, ByteBuffer buf, long pos, int want)
      throws IOException {
    buf.clear();
    while (buf.position() < want) {
      if (in.read(buf, pos + buf.position()) <= 0) {
        throw new EOFException(file + " ends at byte " + (pos + buf.position()));
      }
    }
    return buf.flip().limit(want);
  }

  private static ByteBuffer await(Future<ByteBuffer> read) throws IOException {
    try {
      return read.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading");
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof IOException io) {
        throw io;
      }
      if (c instanceof RuntimeException r) {
        throw r;
      }
      if (c instanceof Error err) {
        throw err;
      }
      throw new IOException(c);
    }
  }

  /**
   * After a failure, lets the read in flight finish before the caller closes the input under it (a
   * read racing a close fails in the storage's own words, or logs them); not when interrupted.
   */
  private static void settle(Future<ByteBuffer> read) {
    try {
      read.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      // The failure being reported already is the one that counts.
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
