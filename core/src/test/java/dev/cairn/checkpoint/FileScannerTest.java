package dev.cairn.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.store.Storage;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The read-ahead scan: every byte once, in order, at the right offsets, and failures as before. */
class FileScannerTest {
  private static final int CHUNK = FileScanner.CHUNK_BYTES;

  @TempDir Path dir;

  private byte[] file(int size) throws IOException {
    byte[] b = new byte[size];
    new SplittableRandom(size).nextBytes(b);
    Files.write(dir.resolve("f"), b);
    return b;
  }

  @Test
  void everyChunkArrivesOnceInOrderWithItsOffset() throws IOException {
    for (int size : new int[] {0, 1, CHUNK, CHUNK + 1, 3 * CHUNK + 12345}) {
      byte[] expected = file(size);
      byte[] seen = new byte[size];
      List<Long> offsets = new ArrayList<>();
      Thread caller = Thread.currentThread();
      try (Storage.Input in = Storage.at(dir).openSequential("f")) {
        FileScanner.scan(
            in,
            dir.resolve("f"),
            size,
            (offset, chunk) -> {
              assertThat(Thread.currentThread()).isSameAs(caller);
              offsets.add(offset);
              chunk.get(seen, (int) offset, chunk.remaining());
            });
      }
      assertThat(seen).as("bytes of a %d-byte file", size).isEqualTo(expected);
      List<Long> want = new ArrayList<>();
      for (long o = 0; o < Math.max(size, 1); o += CHUNK) {
        want.add(o);
      }
      assertThat(offsets).as("offsets of a %d-byte file", size).isEqualTo(want);
    }
  }

  @Test
  void wholeChunksAreReadIntoBuffersOnHugePageBoundariesAndTheRestOnBlockBoundaries()
      throws IOException {
    // Where huge pages are on offer, only a buffer that starts on a 2 MiB boundary is wholly in
    // them, and that is what lets one request to the disk carry 4 MiB rather than about 0.5.
    int size = 3 * CHUNK + 100;
    file(size);
    List<Long> hugeOffsets = new ArrayList<>();
    List<Long> blockOffsets = new ArrayList<>();
    try (Storage.Input in = Storage.at(dir).openSequential("f")) {
      FileScanner.scan(
          in,
          dir.resolve("f"),
          size,
          (offset, chunk) -> {
            hugeOffsets.add((long) chunk.alignmentOffset(chunk.position(), FileScanner.HUGE_PAGE));
            blockOffsets.add((long) chunk.alignmentOffset(chunk.position(), 4096));
          });
    }
    assertThat(hugeOffsets).hasSize(4).startsWith(0L, 0L, 0L);
    assertThat(blockOffsets).containsOnly(0L);
    ByteBuffer fresh = FileScanner.aligned(CHUNK);
    assertThat(fresh.capacity()).isEqualTo(CHUNK);
    assertThat(fresh.alignmentOffset(0, FileScanner.HUGE_PAGE)).isZero();
  }

  @Test
  void aFileShorterThanExpectedNamesWhereItEnds() throws IOException {
    file(2 * CHUNK + 100);
    try (Storage.Input in = Storage.at(dir).openSequential("f")) {
      assertThatThrownBy(
              () -> FileScanner.scan(in, dir.resolve("f"), 3L * CHUNK, (offset, chunk) -> {}))
          .isInstanceOf(EOFException.class)
          .hasMessageContaining("ends at byte " + (2 * CHUNK + 100));
    }
  }

  /** A local input that fails reads from {@code failFrom} on and can hold reads past chunk 0. */
  private static class Watched implements Storage.Input {
    final Storage.Input real;
    final long failFrom;
    final java.util.concurrent.CountDownLatch release;
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();
    final AtomicInteger finished = new AtomicInteger();

    Watched(Storage.Input real, long failFrom, java.util.concurrent.CountDownLatch release) {
      this.real = real;
      this.failFrom = failFrom;
      this.release = release;
    }

    @Override
    public long size() throws IOException {
      return real.size();
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      try {
        if (position >= CHUNK) {
          release.await();
        }
        if (position >= failFrom) {
          throw new IOException("lost the connection at " + position);
        }
        return real.read(dst, position);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException();
      } finally {
        inFlight.decrementAndGet();
        finished.incrementAndGet();
      }
    }

    @Override
    public void close() {}
  }

  /** The same, taking concurrent reads as a local file does. */
  private static class Concurrent extends Watched {
    Concurrent(Storage.Input real, long failFrom, java.util.concurrent.CountDownLatch release) {
      super(real, failFrom, release);
    }

    @Override
    public boolean concurrentReads() {
      return true;
    }
  }

  @Test
  void aLocalFileIsReadWithSeveralReadsInFlightAndConsumedInOrder() throws Exception {
    int chunks = FileScanner.READS_IN_FLIGHT + 3;
    byte[] expected = file(chunks * CHUNK - 777);
    java.util.concurrent.CountDownLatch allStarted =
        new java.util.concurrent.CountDownLatch(FileScanner.READS_IN_FLIGHT);
    try (Storage.Input real = Storage.at(dir).openSequential("f")) {
      assertThat(real.concurrentReads()).as("a local file takes concurrent reads").isTrue();
      // Each read waits until READS_IN_FLIGHT have started: with fewer in flight it times out.
      // Reads are counted as they enter, before that wait: counted inside the real read, once all
      // are let go, how many overlap would be up to the thread scheduler (2 seen on JDK 25).
      AtomicInteger entered = new AtomicInteger();
      AtomicInteger mostAtOnce = new AtomicInteger();
      Watched in =
          new Concurrent(real, Long.MAX_VALUE, new java.util.concurrent.CountDownLatch(0)) {
            @Override
            public int read(ByteBuffer dst, long position) throws IOException {
              mostAtOnce.accumulateAndGet(entered.incrementAndGet(), Math::max);
              try {
                allStarted.countDown();
                if (!allStarted.await(20, java.util.concurrent.TimeUnit.SECONDS)) {
                  throw new IOException("fewer than READS_IN_FLIGHT reads in flight");
                }
                return super.read(dst, position);
              } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
              } finally {
                entered.decrementAndGet();
              }
            }
          };
      byte[] seen = new byte[expected.length];
      List<Long> offsets = new ArrayList<>();
      Thread caller = Thread.currentThread();
      FileScanner.scan(
          in,
          dir.resolve("f"),
          expected.length,
          (offset, chunk) -> {
            assertThat(Thread.currentThread()).isSameAs(caller);
            offsets.add(offset);
            chunk.get(seen, (int) offset, chunk.remaining());
          });
      assertThat(seen).isEqualTo(expected);
      assertThat(offsets).hasSize(chunks).isSorted();
      assertThat(mostAtOnce.get()).isEqualTo(FileScanner.READS_IN_FLIGHT);
    }
  }

  @Test
  void aReadFailureAmongSeveralInFlightReachesTheCallerInOrderWithNoReadLeftRunning()
      throws IOException {
    file(8 * CHUNK);
    try (Storage.Input real = Storage.at(dir).openSequential("f")) {
      Watched in = new Concurrent(real, 2L * CHUNK, new java.util.concurrent.CountDownLatch(0));
      List<Long> consumed = new ArrayList<>();
      assertThatThrownBy(
              () -> FileScanner.scan(in, dir.resolve("f"), 8L * CHUNK, (o, c) -> consumed.add(o)))
          .isInstanceOf(IOException.class)
          .hasMessage("lost the connection at " + 2L * CHUNK);
      assertThat(consumed).containsExactly(0L, (long) CHUNK);
      assertThat(in.inFlight.get()).as("no read outlives the scan").isZero();
    }
  }

  @Test
  void aReadFailureAheadReachesTheCallerAfterTheChunksBeforeIt() throws IOException {
    file(4 * CHUNK);
    try (Storage.Input real = Storage.at(dir).openSequential("f")) {
      Watched in = new Watched(real, 2L * CHUNK, new java.util.concurrent.CountDownLatch(0));
      List<Long> consumed = new ArrayList<>();
      assertThatThrownBy(
              () -> FileScanner.scan(in, dir.resolve("f"), 4L * CHUNK, (o, c) -> consumed.add(o)))
          .isInstanceOf(IOException.class)
          .hasMessage("lost the connection at " + 2L * CHUNK);
      assertThat(consumed).containsExactly(0L, (long) CHUNK);
      assertThat(in.maxInFlight.get()).as("one read at a time per scan").isEqualTo(1);
    }
  }

  private void scanFourChunks(Storage.Input in, FileScanner.ChunkConsumer consumer)
      throws IOException {
    FileScanner.scan(in, dir.resolve("f"), 4L * CHUNK, consumer);
  }

  @Test
  void aConsumerThatFailsStopsTheScanOnlyAfterTheReadAheadFinished() throws IOException {
    file(4 * CHUNK);
    java.util.concurrent.CountDownLatch consumerFailed = new java.util.concurrent.CountDownLatch(1);
    try (Storage.Input real = Storage.at(dir).openSequential("f")) {
      // The read ahead of chunk 1 starts only once the consumer of chunk 0 has given up.
      Watched in = new Watched(real, Long.MAX_VALUE, consumerFailed);
      assertThatThrownBy(
              () ->
                  scanFourChunks(
                      in,
                      (o, chunk) -> {
                        consumerFailed.countDown();
                        throw new IllegalStateException("consumer gave up at " + o);
                      }))
          .hasMessage("consumer gave up at 0");
      // Chunk 0's read and the read ahead of chunk 1, both over before scan returned: the caller
      // may close the input now without a read racing the close.
      assertThat(in.finished.get()).isEqualTo(2);
      assertThat(in.inFlight.get()).isZero();
    }
  }

  @Test
  void anInterruptedScanStillWaitsForItsReadAheadBeforeReturning() throws Exception {
    file(4 * CHUNK);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    Thread caller = Thread.currentThread();
    try (Storage.Input real = Storage.at(dir).openSequential("f")) {
      // The read ahead of chunk 1 is held until the caller is parked, waiting for it.
      Watched in = new Watched(real, Long.MAX_VALUE, release);
      Thread releaser =
          new Thread(
              () -> {
                while (caller.getState() != Thread.State.WAITING) {
                  Thread.onSpinWait();
                }
                release.countDown();
              });
      try {
        assertThatThrownBy(
                () ->
                    scanFourChunks(
                        in,
                        (o, chunk) -> {
                          if (o == 0) {
                            releaser.start();
                            Thread.currentThread().interrupt();
                          }
                        }))
            .isInstanceOf(java.io.InterruptedIOException.class);
        assertThat(Thread.interrupted()).as("the interrupt is kept for the caller").isTrue();
        assertThat(in.finished.get())
            .as("chunk 1's read finished before scan returned")
            .isEqualTo(2);
      } finally {
        release.countDown();
        releaser.join();
      }
    }
  }
}
