package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Writes one new file durably and returns its manifest entry. The checksums are computed by a
 * second thread that reads the file back (from the page cache) just behind the writer, so hashing
 * overlaps with writing and with the fsync instead of adding to them.
 */
final class DurableWriter {
  private static final int READ_BYTES = 4 << 20;

  /** Produces the file's content. */
  @FunctionalInterface
  interface Body {
    void writeTo(WritableByteChannel out) throws IOException;
  }

  private final Storage storage;
  private final ExecutorService hashing;
  private final ExecutorService io;
  private final DirectFileWriter.StagingBuffers staging;
  private final long directThreshold;

  /**
   * @param directThreshold files expected to be at least this large are written with O_DIRECT where
   *     the file system allows it
   */
  DurableWriter(
      Storage storage,
      ExecutorService hashing,
      ExecutorService io,
      DirectFileWriter.StagingBuffers staging,
      long directThreshold) {
    this.storage = storage;
    this.hashing = hashing;
    this.io = io;
    this.staging = staging;
    this.directThreshold = directThreshold;
  }

  /**
   * Creates {@code file} (it must not exist), writes it, fsyncs it and closes it.
   *
   * @param expectedBytes the size the body will write, to choose between O_DIRECT and buffered
   */
  Manifest.FileEntry write(Path file, long expectedBytes, Body body) throws IOException {
    if (expectedBytes >= directThreshold) {
      java.util.Optional<Storage.DirectFile> direct = storage.createDirect(file);
      if (direct.isPresent()) {
        return writeDirect(file, direct.get(), body);
      }
    }
    return writeBuffered(file, body);
  }

  private Manifest.FileEntry writeDirect(Path file, Storage.DirectFile direct, Body body)
      throws IOException {
    FileChannel out = direct.channel();
    try {
      DirectFileWriter w = new DirectFileWriter(direct, hashing, io, staging);
      boolean done = false;
      try {
        body.writeTo(w);
        FileDigest d = w.finish(storage);
        done = true;
        return entry(file, d);
      } finally {
        if (!done) {
          w.awaitHashing();
        }
      }
    } finally {
      out.close();
    }
  }

  private static Manifest.FileEntry entry(Path file, FileDigest d) {
    return new Manifest.FileEntry(
        StepFolders.fileName(file), d.total(), d.sha256(), FileDigest.CHUNK_BYTES, d.crcs());
  }

  private Manifest.FileEntry writeBuffered(Path file, Body body) throws IOException {
    try (FileChannel out = storage.create(file);
        FileChannel in = storage.openRead(file)) {
      Tail tail = new Tail(in);
      Future<FileDigest> digest = hashing.submit(tail);
      boolean done = false;
      try {
        body.writeTo(new Counting(out, tail));
        tail.finish();
        storage.sync(out);
        FileDigest d = await(digest);
        done = true;
        return entry(file, d);
      } finally {
        if (!done) {
          tail.abort();
          try {
            digest.get();
          } catch (ExecutionException | InterruptedException | RuntimeException ignored) {
            // The write already failed; that first failure is the one reported.
            if (ignored instanceof InterruptedException) {
              Thread.currentThread().interrupt();
            }
          }
        }
      }
    }
  }

  /** Creates, writes and fsyncs a small file held in memory (the manifest). */
  void writeSmall(Path file, byte[] content) throws IOException {
    try (FileChannel out = storage.create(file)) {
      ByteBuffer b = ByteBuffer.wrap(content);
      while (b.hasRemaining()) {
        out.write(b);
      }
      storage.sync(out);
    }
  }

  private static FileDigest await(Future<FileDigest> f) throws IOException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while checksumming");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IOException("checksumming failed", e.getCause());
    }
  }

  /** Passes writes through and tells the tail how far the file is written. */
  private static final class Counting implements WritableByteChannel {
    private final FileChannel out;
    private final Tail tail;

    Counting(FileChannel out, Tail tail) {
      this.out = out;
      this.tail = tail;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      int n = out.write(src);
      tail.advance(n);
      return n;
    }

    @Override
    public boolean isOpen() {
      return out.isOpen();
    }

    @Override
    public void close() {
      // The writer owns the channel.
    }
  }

  /** Reads the file back behind the writer and digests it. */
  private static final class Tail implements Callable<FileDigest> {
    private final FileChannel in;
    private final FileDigest digest = new FileDigest(true);
    private long available;
    private boolean finished;
    private boolean aborted;

    Tail(FileChannel in) {
      this.in = in;
    }

    synchronized void advance(long n) {
      available += n;
      notifyAll();
    }

    synchronized void finish() {
      finished = true;
      notifyAll();
    }

    synchronized void abort() {
      aborted = true;
      notifyAll();
    }

    @Override
    public FileDigest call() throws IOException, InterruptedException {
      ByteBuffer buf = ByteBuffer.allocateDirect(READ_BYTES);
      long pos = 0;
      while (true) {
        long limit;
        synchronized (this) {
          while (!aborted && !finished && pos >= available) {
            wait();
          }
          if (aborted) {
            return digest;
          }
          if (pos >= available) {
            return digest;
          }
          limit = available;
        }
        buf.clear().limit((int) Math.min(buf.capacity(), limit - pos));
        while (buf.hasRemaining()) {
          if (in.read(buf, pos + buf.position()) < 0) {
            throw new EOFException("file shrank while being checksummed at byte " + pos);
          }
        }
        buf.flip();
        digest.update(buf);
        pos += buf.limit();
      }
    }
  }
}
