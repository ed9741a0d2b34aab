package dev.cairn.checkpoint;

import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

/**
 * Writes one new file durably and returns its manifest entry, with the checksums computed over the
 * bytes as they are written ({@link TeeWriter}). Large files go through O_DIRECT where the storage
 * offers it.
 */
final class DurableWriter {

  /** Produces the file's content. */
  @FunctionalInterface
  interface Body {
    void writeTo(WritableByteChannel out) throws IOException;
  }

  /**
   * Writes below this size are digested on the writing thread: handing them to the hashing thread
   * would cost more than the digest.
   */
  static final long SMALL_BYTES = 1 << 20;

  private final Storage storage;
  private final ExecutorService hashing;
  private final ExecutorService io;
  private final TeeWriter.StagingBuffers staging;
  private final long directThreshold;
  private final boolean sha256;

  /**
   * @param directThreshold files expected to be at least this large are written with O_DIRECT where
   *     the storage allows it
   * @param sha256 whether each file's SHA-256 is recorded besides its chunks' CRC32C
   */
  DurableWriter(
      Storage storage,
      ExecutorService hashing,
      ExecutorService io,
      TeeWriter.StagingBuffers staging,
      long directThreshold,
      boolean sha256) {
    this.storage = storage;
    this.hashing = hashing;
    this.io = io;
    this.staging = staging;
    this.directThreshold = directThreshold;
    this.sha256 = sha256;
  }

  /**
   * Creates {@code name} (it must not exist), writes it, syncs it and closes it. On failure the
   * output is aborted; the caller removes what may have been created.
   *
   * @param expectedBytes the size the body will write, to choose between O_DIRECT and buffered
   */
  Manifest.FileEntry write(String name, long expectedBytes, Body body) throws IOException {
    Storage.Output out = null;
    if (expectedBytes >= directThreshold && storage.capabilities().directIo()) {
      Optional<Storage.DirectOutput> direct = storage.createDirect(name);
      if (direct.isPresent()) {
        out = direct.get();
      }
    }
    if (out == null) {
      out = storage.create(name);
    }
    FileDigest d;
    try {
      TeeWriter w = newTeeWriter(out);
      boolean done = false;
      try {
        body.writeTo(w);
        d = w.finish();
        done = true;
      } finally {
        if (!done) {
          w.awaitHashing();
        }
      }
    } catch (IOException | RuntimeException e) {
      try {
        out.abort();
      } catch (IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    // Closed only after the sync: where close publishes (object stores) a conflict shows here.
    out.close();
    return entry(name, d);
  }

  private static Manifest.FileEntry entry(String name, FileDigest d) {
    return new Manifest.FileEntry(
        StorageNames.last(name), d.total(), d.sha256(), FileDigest.CHUNK_BYTES, d.crcs());
  }

  private TeeWriter newTeeWriter(Storage.Output out) throws IOException {
    try {
      return new TeeWriter(out, hashing, io, staging, sha256);
    } catch (OutOfMemoryError e) {
      throw new IOException(
          "not enough direct memory for the save's staging buffers ("
              + (TeeWriter.StagingBuffers.COUNT * TeeWriter.StagingBuffers.BUFFER_BYTES >> 20)
              + " MiB): raise -XX:MaxDirectMemorySize",
          e);
    }
  }

  /** Creates, writes and syncs a small file held in memory (the manifest). */
  void writeSmall(String name, byte[] content) throws IOException {
    storage.write(
        name,
        out -> {
          ByteBuffer b = ByteBuffer.wrap(content);
          while (b.hasRemaining()) {
            out.write(b);
          }
        });
  }
}
