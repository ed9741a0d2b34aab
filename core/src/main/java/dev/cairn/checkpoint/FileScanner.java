package dev.cairn.checkpoint;

import dev.cairn.concurrent.DaemonThreads;
import dev.cairn.store.Storage;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.lang.ref.SoftReference;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
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
   * Where a whole-chunk scratch buffer starts: on a 2 MiB boundary, so that where the process's
   * large allocations get transparent huge pages (glibc's {@code glibc.malloc.hugetlb=1} tunable,
   * which the {@code cairn} launcher sets), all of the chunk is in huge pages, not only the 2 MiB
   * ranges that happen to fall inside it. That is what sets the size of a read's requests to the
   * disk: a request holds a bounded number of physically contiguous segments (254 on a virtio
   * disk), so scattered 4 KiB pages cap it near 1 MiB (measured 0.5-0.6 MiB on average) and 2 MiB
   * pages let it reach the device's 4 MiB; on one 2 vCPU VM a cold O_DIRECT read of 4 GiB ran at
   * 0.85-1.65 GB/s with 4 KiB pages and 2.6-5 GB/s with huge ones. The cost without huge pages: 2
   * MiB of address space per buffer, never touched.
   */
  static final int HUGE_PAGE = 2 << 20;

  /** Reads a scan keeps in flight on an input that takes concurrent reads. */
  static final int READS_IN_FLIGHT = 4;

  /** Scratch buffers kept between scans: one scan's worth. */
  private static final int SPARE_MAX = READS_IN_FLIGHT + 1;

  private static final ConcurrentLinkedQueue<SoftReference<ByteBuffer>> SPARE =
      new ConcurrentLinkedQueue<>();

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
   * hands each to the consumer. A file of more than one segment is read ahead on cairn-read-ahead
   * threads while the consumer checks the segment before: {@link #READS_IN_FLIGHT} reads at once on
   * an input that takes {@link Storage.Input#concurrentReads concurrent reads} (a local file), so
   * the disk's queue never drains between two reads; one otherwise. The CRC32C and any copies then
   * cost no time beside the reads. The consumer runs on the caller's thread, one segment at a time,
   * in order; when scan returns or throws, no read of it is in flight.
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
    int depth = in.concurrentReads() ? READS_IN_FLIGHT : 1;
    // Segment k's scratch buffer is k % (depth + 1): the one being consumed and those of the
    // reads in flight are all different.
    ByteBuffer[] scratch = new ByteBuffer[depth + 1];
    if (segments.size() == 1) {
      Segment only = segments.get(0);
      ByteBuffer bytes = fill(in, file, buffer(only, scratch, 0), only.position(), only.length());
      consumer.accept(only.position(), bytes);
      release(scratch);
      return;
    }
    ArrayDeque<Future<ByteBuffer>> ahead = new ArrayDeque<>();
    boolean done = false;
    try {
      int submitted = 0;
      for (; submitted < Math.min(depth, segments.size()); submitted++) {
        ahead.add(readAhead(in, file, segments.get(submitted), scratch, submitted));
      }
      for (int k = 0; k < segments.size(); k++) {
        // Left in the queue until it completes: an interrupted wait leaves it to be settled.
        ByteBuffer bytes = await(ahead.element());
        ahead.remove();
        // The next read goes to the scratch buffer of segment k-1, consumed already.
        if (submitted < segments.size()) {
          ahead.add(readAhead(in, file, segments.get(submitted), scratch, submitted));
          submitted++;
        }
        consumer.accept(segments.get(k).position(), bytes);
      }
      done = true;
    } finally {
      if (!done) {
        for (Future<ByteBuffer> read : ahead) {
          settle(read);
        }
      }
    }
    release(scratch); // no read fills them any more
  }

  /** Where segment {@code k} is read to: its own buffer, or scratch buffer {@code k % length}. */
  private static ByteBuffer buffer(Segment s, ByteBuffer[] scratch, int k) {
    if (s.into() != null) {
      return s.into().duplicate();
    }
    // Whole aligned blocks (O_DIRECT needs them; the last read of a file just returns short),
    // and no bigger than the largest scratch segment so far: a header or a gap between tensors
    // read into the caller's buffers does not cost a whole chunk of direct memory.
    int blocks = (s.length() + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    int i = k % scratch.length;
    if (scratch[i] == null || scratch[i].capacity() < blocks) {
      scratch[i] = aligned(blocks);
    }
    return scratch[i].clear().limit(blocks);
  }

  /**
   * A scratch buffer of {@code bytes}, at an address O_DIRECT takes; a whole chunk starts on a huge
   * page boundary (see {@link #HUGE_PAGE}).
   */
  static ByteBuffer aligned(int bytes) {
    if (bytes == CHUNK_BYTES) {
      for (SoftReference<ByteBuffer> ref; (ref = SPARE.poll()) != null; ) {
        ByteBuffer spare = ref.get();
        if (spare != null) {
          return spare;
        }
      }
    }
    int alignment = bytes == CHUNK_BYTES ? HUGE_PAGE : ALIGNMENT;
    ByteBuffer buf = ByteBuffer.allocateDirect(bytes + alignment).alignedSlice(alignment);
    buf.limit(bytes);
    return buf.slice();
  }

  /**
   * Keeps a finished scan's whole-chunk scratch buffers for the next scan. Fresh direct memory
   * costs a page fault per page at its first touch (about 3 ms of CPU per MiB measured on a virtual
   * machine, more than reading and checking that MiB); the next scan of the process (the next part,
   * retention's check of a checkpoint) reuses these instead. Softly held: a collection that needs
   * the memory frees them.
   */
  private static void release(ByteBuffer[] scratch) {
    for (ByteBuffer b : scratch) {
      if (b != null && b.capacity() == CHUNK_BYTES && SPARE.size() < SPARE_MAX) {
        SPARE.add(new SoftReference<>(b));
      }
    }
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
   * After a failure, lets a read in flight finish before the caller closes the input under it or
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
