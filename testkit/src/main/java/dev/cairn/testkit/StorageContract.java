package dev.cairn.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.store.Storage;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link Storage} contract as tests, for any implementation to extend (as Lucene's {@code
 * BaseDirectoryTestCase}): a subclass says how to make a fresh, empty storage, and inherits every
 * check. What a storage claims in its {@link Storage.Capabilities} is tested too: a claimed lock
 * must exclude, a claimed free-space figure must be there, a direct output must round-trip.
 */
public abstract class StorageContract {
  /** A fresh storage whose root exists and is empty. */
  protected abstract Storage newStorage() throws IOException;

  protected Storage storage;

  @BeforeEach
  void freshStorage() throws IOException {
    storage = newStorage();
    assertThat(storage.list("")).as("a new storage starts empty").isEmpty();
  }

  protected static void write(Storage s, String name, String content) throws IOException {
    Storage.Output out = s.create(name);
    ByteBuffer b = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
    while (b.hasRemaining()) {
      out.write(b);
    }
    out.sync();
    out.close();
  }

  protected static String read(Storage s, String name) throws IOException {
    return readAndClose(s.open(name), name);
  }

  private static String readAndClose(Storage.Input input, String name) throws IOException {
    try (Storage.Input in = input) {
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(in.size()));
      while (b.hasRemaining()) {
        if (in.read(b, b.position()) < 0) {
          throw new EOFException(name + " ended early");
        }
      }
      return new String(b.array(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void aFileWrittenAndClosedReadsBackWhole() throws IOException {
    write(storage, "a", "hello, storage");
    assertThat(read(storage, "a")).isEqualTo("hello, storage");
    assertThat(storage.size("a")).isEqualTo(14);
    assertThat(storage.exists("a")).isTrue();
    assertThat(storage.isFolder("a")).isFalse();
  }

  @Test
  void createRefusesAnExistingNameAndLeavesItAlone() throws IOException {
    write(storage, "a", "first");
    assertThatThrownBy(
            () -> {
              Storage.Output out = storage.create("a");
              out.write(ByteBuffer.wrap(new byte[] {1}));
              out.close();
            })
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThat(read(storage, "a")).isEqualTo("first");
  }

  @Test
  void ofTwoWritersCreatingOneNameExactlyOneSucceeds() throws IOException {
    Storage.Output first = storage.create("race");
    Storage.Output second;
    try {
      second = storage.create("race");
    } catch (FileAlreadyExistsException refusedAtCreate) {
      second = null; // local disks and HDFS refuse at once
    }
    first.write(ByteBuffer.wrap("first".getBytes(StandardCharsets.UTF_8)));
    first.sync();
    first.close();
    if (second != null) {
      // Object stores learn of the conflict only when the second one publishes.
      Storage.Output late = second;
      assertThatThrownBy(
              () -> {
                late.write(ByteBuffer.wrap("second".getBytes(StandardCharsets.UTF_8)));
                late.close();
              })
          .isInstanceOf(FileAlreadyExistsException.class);
    }
    assertThat(read(storage, "race")).isEqualTo("first");
  }

  @Test
  void aFileIsNeverRenamedOntoAnotherAndAFileIsNotAFolder() throws IOException {
    write(storage, "a", "a");
    write(storage, "b", "b");
    assertThatThrownBy(() -> storage.rename("a", "b"))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThat(read(storage, "b")).isEqualTo("b");
    assertThat(read(storage, "a")).isEqualTo("a");
    assertThatThrownBy(() -> storage.list("a"))
        .isInstanceOf(java.nio.file.NotDirectoryException.class);
  }

  @Test
  void createNeedsItsParentFolder() throws IOException {
    assertThatThrownBy(() -> write(storage, "missing/a", "x"))
        .isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> storage.createFolder("missing/b"))
        .isInstanceOf(NoSuchFileException.class);
    assertThat(storage.exists("missing")).as("nothing made on the way").isFalse();
    write(storage, "file", "f");
    assertThatThrownBy(() -> write(storage, "file/a", "x")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> storage.createFolder("file/b")).isInstanceOf(IOException.class);
    assertThat(read(storage, "file")).isEqualTo("f");
    assertThat(storage.list("")).containsExactly("file");
  }

  @Test
  void positionalReadsAndMapsSeeTheRightBytes() throws IOException {
    write(storage, "a", "0123456789");
    try (Storage.Input in = storage.open("a")) {
      ByteBuffer b = ByteBuffer.allocate(3);
      assertThat(in.read(b, 4)).isEqualTo(3);
      assertThat(new String(b.array(), StandardCharsets.US_ASCII)).isEqualTo("456");
      assertThat(in.read(ByteBuffer.allocate(1), 10)).isEqualTo(-1);
      ByteBuffer m = in.map(2, 5);
      byte[] got = new byte[5];
      m.get(got);
      assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo("23456");
      assertThatThrownBy(() -> in.map(8, 5)).isInstanceOf(EOFException.class);
    }
  }

  @Test
  void anEmptyFileIsAFile() throws IOException {
    storage.create("empty").close();
    assertThat(storage.size("empty")).isZero();
    assertThat(read(storage, "empty")).isEmpty();
  }

  @Test
  void aSequentialInputReadsTheWholeFile() throws IOException {
    byte[] data = new byte[3 * 4096 + 17];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 31 + i / 4096);
    }
    Storage.Output out = storage.create("big");
    out.write(ByteBuffer.wrap(data));
    out.sync();
    out.close();
    ByteBuffer got = ByteBuffer.allocateDirect(8 * 4096).alignedSlice(4096);
    try (Storage.Input in = storage.openSequential("big")) {
      assertThat(in.size()).isEqualTo(data.length);
      while (got.position() < data.length) {
        assertThat(in.read(got, got.position())).isPositive();
      }
    }
    got.flip();
    byte[] back = new byte[got.remaining()];
    got.get(back);
    assertThat(back).isEqualTo(data);
  }

  @Test
  void aDirectOutputRoundTripsWhereOffered() throws IOException {
    Optional<Storage.DirectOutput> direct = storage.createDirect("direct");
    if (!storage.capabilities().directIo()) {
      assertThat(direct).as("no direct I/O claimed, none given").isEmpty();
      return;
    }
    if (direct.isEmpty()) {
      return; // claimed, but this folder's file system refuses O_DIRECT (tmpfs): allowed
    }
    Storage.DirectOutput out = direct.get();
    int a = out.alignment();
    assertThat(a).isPositive();
    ByteBuffer b = ByteBuffer.allocateDirect(3 * a).alignedSlice(a);
    for (int i = 0; b.hasRemaining(); i++) {
      b.put((byte) i);
    }
    b.flip().limit(2 * a);
    while (b.hasRemaining()) {
      out.write(b);
    }
    out.truncate(a + 5);
    out.sync();
    out.close();
    assertThat(storage.size("direct")).isEqualTo(a + 5);
  }

  @Test
  void aListingOpensTheFilesOfItsFolderAndNoOthers() throws IOException {
    storage.createFolders("d/sub");
    write(storage, "d/a", "alpha");
    write(storage, "d/b", "bravo!");
    write(storage, "d/sub/c", "charlie");
    Storage.Listing files = storage.listing("d");
    try (Storage.Input in = files.openSequential("b")) {
      assertThat(in.size()).isEqualTo(6);
    }
    assertThat(readAndClose(files.openSequential("b"), "b")).isEqualTo("bravo!");
    assertThat(readAndClose(files.open("a"), "a")).isEqualTo("alpha");
    assertThatThrownBy(() -> readAndClose(files.open("missing"), "missing"))
        .isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> files.open("sub/c")).isInstanceOf(IllegalArgumentException.class);
    assertThat(readAndClose(storage.listing("d/sub").open("c"), "c")).isEqualTo("charlie");
    assertThat(readAndClose(storage.child("d").listing("sub").openSequential("c"), "c"))
        .isEqualTo("charlie");
    assertThatThrownBy(() -> readAndClose(storage.listing("nope").open("a"), "a"))
        .as("a missing folder, found missing by the listing or the open")
        .isInstanceOf(NoSuchFileException.class);
    storage.delete("d/a");
    try {
      assertThat(readAndClose(files.open("a"), "a"))
          .as("deleted after the listing")
          .isEqualTo("alpha");
    } catch (NoSuchFileException deletedSinceListed) {
      // as allowed: found deleted at the open or the first read
    }
  }

  @Test
  void foldersAreCreatedOnceAndListedByLastElementInOrder() throws IOException {
    storage.createFolders("x/y/z");
    storage.createFolders("x/y/z");
    assertThat(storage.isFolder("x/y/z")).isTrue();
    assertThatThrownBy(() -> storage.createFolder("x/y/z"))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThatThrownBy(() -> storage.createFolder("nope/child")).isInstanceOf(IOException.class);
    write(storage, "x/y/z/b", "b");
    write(storage, "x/y/z/a", "a");
    storage.createFolder("x/y/z/c");
    storage.syncFolder("x/y/z");
    assertThat(storage.list("x/y/z")).containsExactly("a", "b", "c");
    assertThat(storage.list("")).containsExactly("x");
    assertThatThrownBy(() -> storage.list("missing")).isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void renameMovesAFolderWholeAndNeverReplacesOrNests() throws IOException {
    storage.createFolder("d");
    write(storage, "d/a", "a");
    write(storage, "d/manifest.json", "{}");
    storage.rename("d", "moved");
    assertThat(storage.exists("d")).isFalse();
    assertThat(storage.list("moved")).containsExactly("a", "manifest.json");
    assertThat(read(storage, "moved/a")).isEqualTo("a");
    storage.createFolder("other");
    assertThatThrownBy(() -> storage.rename("moved", "other"))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThat(storage.list("other")).as("a rename onto a folder never nests").isEmpty();
    assertThat(storage.list("moved")).containsExactly("a", "manifest.json");
    write(storage, "f", "file");
    storage.rename("f", "g");
    assertThat(read(storage, "g")).isEqualTo("file");
    assertThat(storage.exists("f")).isFalse();
  }

  @Test
  void deletesAreIdempotentAndRefuseAFullFolder() throws IOException {
    storage.createFolders("t/u");
    write(storage, "t/u/f", "f");
    write(storage, "t/g", "g");
    assertThatThrownBy(() -> storage.delete("t")).isInstanceOf(DirectoryNotEmptyException.class);
    storage.delete("t/g");
    storage.delete("t/g");
    storage.delete("never-existed");
    storage.deleteTree("t");
    assertThat(storage.exists("t")).isFalse();
    storage.deleteTree("t");
    assertThat(storage.list("")).isEmpty();
  }

  @Test
  void sizeOfAMissingFileSaysSo() {
    assertThatThrownBy(() -> storage.size("missing")).isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> storage.open("missing")).isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void aModificationTimeIsNearNowWhenKnown() throws IOException {
    java.time.Instant before = java.time.Instant.now().minusSeconds(120);
    write(storage, "t", "t");
    storage
        .lastModified("t")
        .ifPresent(t -> assertThat(t).isBetween(before, java.time.Instant.now().plusSeconds(120)));
    assertThatThrownBy(() -> storage.lastModified("missing"))
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void freeSpaceIsKnownExactlyWhenClaimed() throws IOException {
    assertThat(storage.usableSpace("").isPresent())
        .isEqualTo(storage.capabilities().freeSpaceKnown());
    storage.usableSpace("").ifPresent(v -> assertThat(v).isPositive());
  }

  @Test
  void namesThatCouldLeaveTheRootAreRefused() {
    for (String bad : new String[] {"..", "../x", "a/../b", "/abs", "a/", "a//b", "a\\b", "."}) {
      assertThatThrownBy(() -> storage.exists(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> storage.create(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void aChildStorageSeesOnlyItsFolder() throws IOException {
    storage.createFolders("sub/inner");
    Storage child = storage.child("sub");
    write(child, "inner/f", "in the child");
    assertThat(read(storage, "sub/inner/f")).isEqualTo("in the child");
    assertThat(child.list("")).containsExactly("inner");
    assertThat(child.location("inner/f")).isEqualTo(storage.location("sub/inner/f"));
    assertThat(child.child("inner").list("")).containsExactly("f");
  }

  @Test
  void aLockExcludesOtherHoldersUntilClosedWhereClaimed() throws Exception {
    if (!storage.capabilities().locks()) {
      assertThatThrownBy(() -> storage.tryLock(".lock"))
          .isInstanceOf(UnsupportedOperationException.class);
      return;
    }
    Storage.Lock held = storage.tryLock(".lock").orElseThrow();
    assertThat(storage.tryLock(".lock")).as("second holder refused").isEmpty();
    CountDownLatch waiting = new CountDownLatch(1);
    CompletableFuture<Storage.Lock> other =
        CompletableFuture.supplyAsync(
            () -> {
              waiting.countDown();
              try {
                return storage.lock(".lock");
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    waiting.await();
    assertThat(other).isNotDone();
    held.close();
    other.get(5, TimeUnit.MINUTES).close();
    storage.tryLock(".lock").orElseThrow().close();
  }
}
