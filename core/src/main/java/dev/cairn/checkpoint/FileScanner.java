package dev.cairn.checkpoint;

import dev.cairn.concurrent.DaemonThreads;
import dev.cairn.store.Storage;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

  /**
   * Whether every input of {@code storage} reads into any buffer, at any position: none is opened
   * with O_DIRECT (which needs aligned memory, positions and lengths), so a sequential input may
   * also serve the header and the JSON, and tensors may be read straight into a caller's buffers.
   */
  static boolean plainReads(Storage storage) {
    return !storage.capabilities().directIo();
  }

  /** Receives consecutive chunks; the buffer is only valid during the call. */
  @FunctionalInterface
  interface ChunkConsumer {
    void accept(long offset, ByteBuffer chunk) throws IOException;
  }

  private FileScanner() {}

  /**
   * A run of a file's bytes and where they are read to: straight into {@code into} (its remaining
   * bytes, exactly {@code length}), or, when it is null, into a scratch buffer of the scan's.
   */
  record Segment(long position, int length, ByteBuffer into) {
    Segment {
      if (length <= 0 || length > CHUNK_BYTES || (into != null && into.remaining() != length)) {
        throw new IllegalArgumentException("a segment holds 1 to CHUNK_BYTES bytes: " + length);
      }
    }
  }

  /** The whole file in aligned chunks, each into a scratch buffer (what O_DIRECT needs). */
  static List<Segment> chunks(long size) {
    List<Segment> out = new ArrayList<>();
    scratch(out, 0, size);
    return out;
  }

  /** Appends scratch segments covering {@code [from, to)}. */
  static void scratch(List<Segment> out, long from, long to) {
    for (long p = from; p < to; p += CHUNK_BYTES) {
      out.add(new Segment(p, (int) Math.min(CHUNK_BYTES, to - p), null));
    }
  }

  /**
   * Reads {@code size} bytes through an open input, with positional reads only; see {@link
   * #scan(Storage.Input, Path, List, ChunkConsumer)}.
   */
  static void scan(Storage.Input in, Path file, long size, ChunkConsumer consumer)
      throws IOException {
    scan(in, file, chunks(size), consumer);
  }

  /**
   * Reads the segments, which must follow each other without gaps, with positional reads only, and
   * hands each to the consumer. A file of more than one segment is read ahead: the next segment is
   * read (on a cairn-read-ahead thread) while the consumer checks the current one, so the CRC32C
   * and any copies cost no time beside the reads. The consumer runs on the caller's thread, one
   * segment at a time, in order.
   *
   * @param file how the file is named in errors
   * @throws EOFException naming the offset when the file is shorter than the segments
   */
  static void scan(Storage.Input in, Path file, List<Segment> segments, ChunkConsumer consumer)
      throws IOException {
    if (segments.isEmpty()) {
      consumer.accept(0, ByteBuffer.allocate(0));
      return;
    }
    ByteBuffer[] scratch = new ByteBuffer[2];
    if (segments.size() == 1) {
      Segment only = segments.get(0);
      ByteBuffer bytes = fill(in, file, buffer(only, scratch, 0), only.position(), only.length());
      consumer.accept(only.position(), bytes);
      return;
    }
    Future<ByteBuffer> next = readAhead(in, file, segments.get(0), scratch, 0);
    boolean done = false;
    try {
      for (int k = 0; k < segments.size(); k++) {
        ByteBuffer bytes = await(next);
        // Segment k+1 goes to the other scratch buffer: the one of segment k-1, consumed.
        next =
            k + 1 < segments.size()
                ? readAhead(in, file, segments.get(k + 1), scratch, k + 1)
                : null;
        consumer.accept(segments.get(k).position(), bytes);
      }
      done = true;
    } finally {
      if (!done && next != null) {
        settle(next);
      }
    }
  }

  /** Where segment {@code k} is read to: its own buffer, or scratch buffer {@code k % 2}. */
  private static ByteBuffer buffer(Segment s, ByteBuffer[] scratch, int k) {
    if (s.into() != null) {
      return s.into().duplicate();
    }
    // Whole aligned blocks (O_DIRECT needs them; the last read of a file just returns short),
    // and no bigger than the largest scratch segment so far: a header or a gap between tensors
    // read into the caller's buffers does not cost a whole chunk of direct memory.
    int blocks = (s.length() + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    if (scratch[k % 2] == null || scratch[k % 2].capacity() < blocks) {
      scratch[k % 2] = aligned(blocks);
    }
    return scratch[k % 2].clear().limit(blocks);
  }

  private static ByteBuffer aligned(int bytes) {
    ByteBuffer buf = ByteBuffer.allocateDirect(bytes + ALIGNMENT).alignedSlice(ALIGNMENT);
    buf.limit(bytes);
    return buf.slice();
  }

  private static Future<ByteBuffer> readAhead(
      Storage.Input in, Path file, Segment s, ByteBuffer[] scratch, int k) {
    ByteBuffer into = buffer(s, scratch, k);
    return READ_AHEAD.submit(() -> fill(in, file, into, s.position(), s.length()));
  }

  /**
   * Reads at least {@code want} bytes at {@code pos} into {@code buf} (from its position, up to its
   * limit) and returns a view of the first {@code want}.
   */
  private static ByteBuffer fill(Storage.Input in, Path file, ByteBuffer buf, long pos, int want)
      throws IOException {
    int start = buf.position();
    while (buf.position() - start < want) {
      if (in.read(buf, pos + buf.position() - start) <= 0) {
        throw new EOFException(file + " ends at byte " + (pos + buf.position() - start));
      }
    }
    return buf.flip().position(start).limit(start + want);
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
   * After a failure, lets the read in flight finish before the caller closes the input under it or
   * reuses the buffer it fills (a caller's tensor): an interrupt does not cut the wait short (one
   * read is at most one segment), it is kept for the caller.
   */
  private static void settle(Future<ByteBuffer> read) {
    boolean interrupted = false;
    while (true) {
      try {
        read.get();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      } catch (ExecutionException e) {
        break; // the failure being reported already is the one that counts
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
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
