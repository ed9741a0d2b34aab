package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.store.Storage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The tee over a buffered output (HDFS, S3A, a local file without O_DIRECT): the caller's bytes are
 * written as they are, and the digest is the one an independent pass over the file computes.
 */
class TeeWriterTest {
  private final ExecutorService hashing = Executors.newSingleThreadExecutor();
  private final ExecutorService io = Executors.newSingleThreadExecutor();

  @AfterEach
  void stop() {
    hashing.shutdownNow();
    io.shutdownNow();
  }

  /** An in-memory buffered output; can be told to fail after some bytes. */
  private static final class MemoryOutput implements Storage.Output {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    long failAfter = Long.MAX_VALUE;
    boolean synced;

    @Override
    public int write(ByteBuffer src) throws IOException {
      if (bytes.size() + (long) src.remaining() > failAfter) {
        throw new IOException("simulated: the network went away");
      }
      int n = src.remaining();
      byte[] b = new byte[n];
      src.get(b);
      bytes.write(b, 0, n);
      return n;
    }

    @Override
    public void sync() {
      synced = true;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }

  @Test
  void everyByteIsWrittenOnceInOrderAndTheDigestMatchesAnIndependentPass() throws IOException {
    Random r = new Random(7);
    // Small writes digested inline, large ones in pieces on the hashing thread, crossing both the
    // 16 MiB piece size and a 64 MiB CRC chunk boundary; direct and heap buffers.
    int[] sizes = {0, 17, 1 << 20, (1 << 20) - 1, 40 << 20, 3, (30 << 20) + 5, 1};
    List<ByteBuffer> writes = new ArrayList<>();
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    for (int i = 0; i < sizes.length; i++) {
      byte[] b = new byte[sizes[i]];
      r.nextBytes(b);
      expected.write(b, 0, b.length);
      ByteBuffer buf =
          i % 2 == 0 ? ByteBuffer.allocateDirect(b.length) : ByteBuffer.allocate(b.length);
      buf.put(b).flip();
      writes.add(buf);
    }
    MemoryOutput out = new MemoryOutput();
    TeeWriter w = new TeeWriter(out, hashing, io, new TeeWriter.StagingBuffers(), true);
    for (ByteBuffer b : writes) {
      int n = b.remaining();
      assertThat(w.write(b)).isEqualTo(n);
      assertThat(b.hasRemaining()).as("a write consumes the caller's buffer").isFalse();
    }
    FileDigest d = w.finish();

    byte[] all = expected.toByteArray();
    assertThat(out.bytes.toByteArray()).isEqualTo(all);
    assertThat(out.synced).isTrue();
    assertThat(d.total()).isEqualTo(all.length);
    assertThat(d.sha256()).isEqualTo(FileDigest.sha256(all));
    List<String> crcs = new ArrayList<>();
    for (long at = 0; at < all.length; at += FileDigest.CHUNK_BYTES) {
      CRC32C c = new CRC32C();
      c.update(all, (int) at, (int) Math.min(FileDigest.CHUNK_BYTES, all.length - at));
      crcs.add(FileDigest.hex8(c.getValue()));
    }
    assertThat(d.crcs()).isEqualTo(crcs);
  }

  @Test
  void aFailedWriteReachesTheCallerOnlyAfterTheHashingThreadLetGoOfItsBuffer() throws Exception {
    java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger digested =
        new java.util.concurrent.atomic.AtomicInteger();
    ExecutorService slowHashing =
        new java.util.concurrent.ThreadPoolExecutor(
            1,
            1,
            0,
            java.util.concurrent.TimeUnit.SECONDS,
            new java.util.concurrent.LinkedBlockingQueue<>()) {
          @Override
          protected void beforeExecute(Thread t, Runnable task) {
            try {
              hold.await(); // the digest of the first piece is still reading the caller's buffer
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            digested.incrementAndGet(); // started: a write that waits for it returns after it
          }
        };
    try {
      MemoryOutput out = new MemoryOutput();
      out.failAfter = 20 << 20; // inside the second 16 MiB piece
      TeeWriter w = new TeeWriter(out, slowHashing, io, new TeeWriter.StagingBuffers(), false);
      ByteBuffer big = ByteBuffer.allocateDirect(40 << 20);
      int[] digestedWhenItReturned = {-1};
      Throwable[] thrown = new Throwable[1];
      Thread writer =
          new Thread(
              () -> {
                try {
                  w.write(big);
                } catch (IOException e) {
                  thrown[0] = e;
                }
                digestedWhenItReturned[0] = digested.get();
              });
      writer.start();
      // Let the digests run only once the write has returned or waits for them (the one place
      // the writing thread parks).
      while (writer.isAlive() && writer.getState() != Thread.State.WAITING) {
        Thread.onSpinWait();
      }
      hold.countDown();
      writer.join();
      assertThat(thrown[0]).hasMessageContaining("network went away");
      assertThat(digestedWhenItReturned[0])
          .as("pieces digested when the write returned")
          .isEqualTo(2);
    } finally {
      slowHashing.shutdownNow();
    }
  }
}
