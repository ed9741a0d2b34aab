package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes a file and checksums the same bytes on the way (a tee, never a read-back, which object
 * stores could not serve).
 *
 * <p>With an O_DIRECT output, bytes are copied into aligned staging buffers; each full buffer is
 * written by the I/O thread while the hashing thread digests the same buffer, so the caller fills
 * the next one meanwhile and the checksums cost no extra pass. The tail is padded and then
 * truncated: the page cache is bypassed, so a large save runs at the disk's own speed instead of
 * the kernel's write-back pace.
 *
 * <p>Any other output (HDFS, S3A, a buffered local file) takes the caller's bytes as they are: the
 * hashing thread digests a piece while the caller's thread writes the same piece, and a write
 * returns once both are done, so the caller may reuse its buffer. A staging copy would only add a
 * pass over every byte: such outputs copy into their own buffers anyway (Hadoop's streams take only
 * arrays, the kernel its page cache), and on a machine whose cores also run the storage client that
 * copy was a tenth of a remote save.
 */
final class TeeWriter implements WritableByteChannel {
  private final Storage.Output out;
  private final Storage.DirectOutput direct;
  private final int alignment;
  private final ExecutorService hashing;
  private final ExecutorService io;
  private final BlockingQueue<ByteBuffer> free;
  private final AtomicReference<IOException> writeFailure = new AtomicReference<>();
  private final FileDigest digest;
  private final AtomicReference<Throwable> hashFailure = new AtomicReference<>();
  private final Object hashLock = new Object();
  private int inFlight; // guarded by hashLock
  private ByteBuffer current;
  private final java.util.concurrent.atomic.AtomicLong length =
      new java.util.concurrent.atomic.AtomicLong();

  /**
   * @param io a single ordered thread that issues the writes, so the device stays busy while the
   *     caller fills the next buffer
   * @param sha256 whether the whole file's SHA-256 is computed besides the chunks' CRC32C
   */
  TeeWriter(
      Storage.Output out,
      ExecutorService hashing,
      ExecutorService io,
      StagingBuffers staging,
      boolean sha256) {
    this.out = out;
    this.digest = new FileDigest(sha256);
    this.direct = out instanceof Storage.DirectOutput d ? d : null;
    this.alignment = direct == null ? 1 : direct.alignment();
    this.hashing = hashing;
    this.io = io;
    this.free = direct == null ? null : staging.acquire(alignment);
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    if (direct == null) {
      return writeThrough(src);
    }
    int n = src.remaining();
    while (src.hasRemaining()) {
      if (current == null) {
        current = take();
      }
      int k = Math.min(src.remaining(), current.remaining());
      ByteBuffer part = src.slice();
      part.limit(k);
      current.put(part);
      src.position(src.position() + k);
      if (!current.hasRemaining()) {
        flush(current.capacity());
      }
    }
    length.addAndGet(n);
    return n;
  }

  /**
   * Writes the caller's bytes to a buffered output in pieces of a staging buffer's size, each piece
   * digested on the hashing thread while this thread writes it; small writes are digested here.
   * Returns only when every piece is written and digested.
   */
  private int writeThrough(ByteBuffer src) throws IOException {
    int n = src.remaining();
    // Decided once per call, so the digest sees the pieces in order; below this size a hand-off to
    // the hashing thread costs more than the digest.
    boolean inline = n < DurableWriter.SMALL_BYTES;
    IOException failed = null;
    try {
      while (src.hasRemaining()) {
        ByteBuffer piece = src.slice();
        piece.limit(Math.min(piece.remaining(), StagingBuffers.BUFFER_BYTES));
        int k = piece.remaining();
        if (inline) {
          digest.update(piece);
        } else {
          digestLater(piece.asReadOnlyBuffer(), () -> {});
        }
        while (piece.hasRemaining()) {
          out.write(piece);
        }
        src.position(src.position() + k);
      }
      length.addAndGet(n);
    } catch (IOException e) {
      failed = e;
    } catch (RuntimeException e) {
      failed = new IOException(e);
    } finally {
      try {
        awaitHashing(); // the hashing thread may still read the caller's buffer
      } catch (IOException e) {
        if (failed == null) {
          failed = e;
        } else {
          failed.addSuppressed(e);
        }
      }
    }
    if (failed != null) {
      throw failed;
    }
    return n;
  }

  /** Digests {@code bytes} on the hashing thread (in submission order), then runs {@code after}. */
  private void digestLater(ByteBuffer bytes, Runnable after) {
    synchronized (hashLock) {
      inFlight++;
    }
    hashing.execute(
        () -> {
          try {
            if (hashFailure.get() == null) {
              digest.update(bytes);
            }
          } catch (RuntimeException e) {
            hashFailure.compareAndSet(null, e);
          } finally {
            after.run();
            synchronized (hashLock) {
              inFlight--;
              hashLock.notifyAll();
            }
          }
        });
  }

  /** Writes the current buffer (its first {@code bytes}, a multiple of the alignment). */
  private void flush(int bytes) throws IOException {
    ByteBuffer full = current;
    current = null;
    int valid = full.position();
    full.position(0).limit(bytes);
    ByteBuffer forHash = full.duplicate();
    forHash.limit(valid);
    AtomicInteger users = new AtomicInteger(2);
    IOException failed = writeFailure.get();
    if (failed != null) {
      release(full, users);
      release(full, users);
      throw new IOException("an earlier write of this file failed: " + failed.getMessage(), failed);
    }
    synchronized (hashLock) {
      inFlight++; // the write's share; digestLater counts its own
    }
    digestLater(forHash, () -> release(full, users));
    io.execute(
        () -> {
          try {
            if (writeFailure.get() == null) {
              while (full.hasRemaining()) {
                out.write(full);
              }
            }
          } catch (IOException e) {
            writeFailure.compareAndSet(null, e);
          } catch (RuntimeException e) {
            writeFailure.compareAndSet(null, new IOException(e));
          } finally {
            release(full, users);
            synchronized (hashLock) {
              inFlight--;
              hashLock.notifyAll();
            }
          }
        });
  }

  private void release(ByteBuffer b, AtomicInteger users) {
    if (users.decrementAndGet() == 0) {
      b.clear();
      free.add(b);
    }
  }

  private ByteBuffer take() throws IOException {
    try {
      return free.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for a staging buffer");
    }
  }

  /**
   * Writes the tail (for O_DIRECT padded to the alignment, then truncated), syncs, and returns the
   * digest. The caller closes the output.
   */
  FileDigest finish() throws IOException {
    if (current != null && current.position() > 0) {
      int valid = current.position();
      int padded = (valid + alignment - 1) / alignment * alignment;
      while (current.position() < padded) {
        current.put((byte) 0);
      }
      current.position(valid);
      flush(padded);
    } else if (current != null) {
      free.add(current.clear());
      current = null;
    }
    awaitHashing();
    IOException failed = writeFailure.get();
    if (failed != null) {
      throw failed;
    }
    if (direct != null && direct.size() != length.get()) {
      direct.truncate(length.get());
    }
    out.sync();
    Throwable t = hashFailure.get();
    if (t != null) {
      throw new IOException("checksumming failed", t);
    }
    return digest;
  }

  /** Waits until every buffer is written and hashed (also after a failure). */
  void awaitHashing() throws IOException {
    synchronized (hashLock) {
      while (inFlight > 0) {
        try {
          hashLock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while checksumming");
        }
      }
    }
    if (current != null) {
      free.add(current.clear());
      current = null;
    }
  }

  @Override
  public boolean isOpen() {
    return out.isOpen();
  }

  @Override
  public void close() {
    // DurableWriter owns the channel.
  }

  /**
   * Staging buffers for O_DIRECT outputs, allocated at a store's first such save and reused by
   * every later one; aligned to at least a page. A store that never writes with O_DIRECT (HDFS,
   * S3A) never allocates them.
   */
  static final class StagingBuffers {
    static final int BUFFER_BYTES = 16 << 20;
    static final int COUNT = 4;
    private static final int PAGE = 4096;
    private ArrayBlockingQueue<ByteBuffer> buffers;
    private int alignment;

    synchronized BlockingQueue<ByteBuffer> acquire(int wanted) {
      if (buffers == null || this.alignment % wanted != 0) {
        int alignment = Math.max(PAGE, wanted);
        // Filled before it is kept: a failed allocation (out of direct memory) must not leave an
        // empty pool that every later save would wait on forever.
        ArrayBlockingQueue<ByteBuffer> fresh = new ArrayBlockingQueue<>(COUNT);
        for (int i = 0; i < COUNT; i++) {
          fresh.add(
              ByteBuffer.allocateDirect(BUFFER_BYTES + alignment)
                  .alignedSlice(alignment)
                  .limit(BUFFER_BYTES)
                  .slice());
        }
        buffers = fresh;
        this.alignment = alignment;
      }
      return buffers;
    }
  }
}
