package dev.cairn.store;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The bytes-and-durability contract the checkpoint commit protocol is written against: files and
 * folders named by strings relative to one root ({@link StorageNames}: {@code "step-4/model"}, the
 * root itself is {@code ""}), so that a local disk, HDFS and an object store can all satisfy it
 * without pretending to be {@code java.nio}. What an implementation can do beyond the minimum is in
 * its {@link #capabilities()}; the protocol asks them and never reaches around this interface.
 *
 * <p>Every method that names something refuses a malformed name with IllegalArgumentException.
 */
public interface Storage {

  /** Storage under a folder of any {@code java.nio} file system, with fsyncs and atomic renames. */
  static Storage at(Path root) {
    return new LocalStorage(root, true);
  }

  /**
   * Local storage whose folder renames are not atomic, to run the marker commit strategy on a local
   * disk (tests, and file systems such as some FUSE mounts where rename is a copy): a folder is
   * renamed as an object store does it, by copying its files and then deleting the sources.
   */
  static Storage atWithoutAtomicRename(Path root) {
    return new LocalStorage(root, false);
  }

  /** What this storage can do beyond the minimum. */
  Capabilities capabilities();

  /**
   * Where a name is, for people: an absolute path or a URI. Never parsed back.
   *
   * @param name a name under this storage's root ({@code ""} for the root)
   */
  String location(String name);

  /**
   * Creates a new file open for writing. Its content is durable once {@link Output#sync()} returned
   * (where the storage has no sync, once {@link Output#close()} returned).
   *
   * @throws java.nio.file.FileAlreadyExistsException when the name exists (on storage that checks
   *     only on publish, such as S3, from {@code close()})
   * @throws java.nio.file.NoSuchFileException when the parent folder does not exist
   */
  Output create(String name) throws IOException;

  /**
   * Creates a new file for unbuffered writing (O_DIRECT), or returns empty when this storage or its
   * file system cannot (see {@link Capabilities#directIo()}), in which case nothing was created.
   * Writes must come from buffers whose address and size are multiples of {@link
   * DirectOutput#alignment()}.
   */
  default Optional<DirectOutput> createDirect(String name) throws IOException {
    return Optional.empty();
  }

  /**
   * Opens an existing file for positional reads. An input opened before the file is deleted keeps
   * reading the whole file where the storage allows it (local disks, HDFS).
   *
   * @throws java.nio.file.NoSuchFileException when the name does not exist
   */
  Input open(String name) throws IOException;

  /**
   * Opens a file to be read once front to back in large chunks (at least 4 KiB, into direct buffers
   * whose addresses, positions and sizes are multiples of 4096 except at the end of the file). The
   * local storage reads large files with O_DIRECT then, so a restore runs at the device's speed and
   * leaves the page cache alone; the default is {@link #open}.
   */
  default Input openSequential(String name) throws IOException {
    return open(name);
  }

  /**
   * The files directly in a folder, for opening several of them: where the storage can, one request
   * lists them together with what opening each would otherwise ask for (its size, its version), so
   * that an object store opens each with a GET and no HEAD. The default lists nothing and opens by
   * name ({@link Listing#byName}). A file is read as the listing found it: one replaced or deleted
   * since reads as it was, or fails (NoSuchFileException when deleted), at open or at its first
   * read.
   *
   * @throws java.nio.file.NoSuchFileException when the folder does not exist (here, or from the
   *     opens)
   */
  default Listing listing(String folder) throws IOException {
    return Listing.byName(this, folder);
  }

  /**
   * Creates one folder; its parent must exist.
   *
   * @throws java.nio.file.FileAlreadyExistsException when the name exists
   */
  void createFolder(String name) throws IOException;

  /** Creates a folder and its missing parents (durably); an existing folder is not an error. */
  void createFolders(String name) throws IOException;

  /**
   * Forces a folder's entries (names created, renamed or deleted in it) to stable storage, where
   * the storage has such a step (a no-op on object stores, where every change is already durable).
   */
  void syncFolder(String name) throws IOException;

  /**
   * Renames a file or folder to a name that must not exist, whose parent exists. Atomic when {@link
   * Capabilities#atomicRename()}: a reader or a crash sees the old name or the new one, never a
   * mix.
   *
   * @throws java.nio.file.FileAlreadyExistsException when {@code to} exists (never nests)
   */
  void rename(String from, String to) throws IOException;

  /**
   * The last elements of the names directly in a folder, sorted.
   *
   * @throws java.nio.file.NoSuchFileException when the folder does not exist
   * @throws java.nio.file.NotDirectoryException when the name is a file
   */
  List<String> list(String folder) throws IOException;

  /**
   * Deletes a file or an empty folder; a missing name is not an error.
   *
   * @throws java.nio.file.DirectoryNotEmptyException when the folder is not empty
   */
  void delete(String name) throws IOException;

  /** Deletes a folder and everything under it (or a file); a missing name is not an error. */
  void deleteTree(String name) throws IOException;

  boolean exists(String name) throws IOException;

  boolean isFolder(String name) throws IOException;

  /**
   * The size of a file.
   *
   * @throws java.nio.file.NoSuchFileException when it does not exist
   */
  long size(String name) throws IOException;

  /**
   * When a file or folder last changed, where the storage records it (all do: local disks, HDFS,
   * S3's Last-Modified); empty when it does not.
   *
   * @throws java.nio.file.NoSuchFileException when it does not exist
   */
  default Optional<java.time.Instant> lastModified(String name) throws IOException {
    StorageNames.check(name);
    return Optional.empty();
  }

  /**
   * Bytes a new file in this folder may still use, or empty when the storage cannot tell ({@link
   * Capabilities#freeSpaceKnown()} is false).
   */
  OptionalLong usableSpace(String folder) throws IOException;

  /**
   * Takes an exclusive lock on {@code name} (a file, created when missing and then listed like any
   * other), waiting while another holder has it; it excludes other processes and other threads of
   * this JVM alike and is held until closed.
   *
   * @throws UnsupportedOperationException when {@link Capabilities#locks()} is false
   */
  default Lock lock(String name) throws IOException {
    throw new UnsupportedOperationException(location(name) + ": this storage has no locks");
  }

  /**
   * Takes the lock if nobody holds it; empty at once when another process or thread does.
   *
   * @throws UnsupportedOperationException when {@link Capabilities#locks()} is false
   */
  default Optional<Lock> tryLock(String name) throws IOException {
    throw new UnsupportedOperationException(location(name) + ": this storage has no locks");
  }

  /** What writes a new file's bytes, for {@link #write}. */
  @FunctionalInterface
  interface Content {
    void writeTo(Output out) throws IOException;
  }

  /**
   * Creates {@code name}, writes it with {@code content}, syncs and closes it; on a failure the
   * output is aborted (nothing published where the storage can refuse to) and the failure thrown.
   */
  default void write(String name, Content content) throws IOException {
    Output out = create(name);
    try {
      content.writeTo(out);
      out.sync();
    } catch (IOException | RuntimeException e) {
      try {
        out.abort();
      } catch (IOException | RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    out.close();
  }

  /** The same storage rooted at one of its folders (which need not exist yet). */
  default Storage child(String folder) {
    StorageNames.check(folder);
    return folder.isEmpty() ? this : new ChildStorage(this, folder);
  }

  /**
   * What a storage can do. The protocol picks its commit strategy, write path and checks from
   * these, so an implementation says only what it really does.
   *
   * @param atomicRename a folder rename is one atomic step (local disks, HDFS), not a copy
   * @param directIo {@link #createDirect} and {@link #openSequential} may bypass the page cache
   * @param mmap {@link Input#map} maps the file instead of copying it
   * @param locks {@link #lock} and {@link #tryLock} work
   * @param append files can be appended to after they were closed (not used by checkpoints)
   * @param readWhileWriting bytes written and synced are readable before the writer closes
   * @param freeSpaceKnown {@link #usableSpace} answers
   */
  record Capabilities(
      boolean atomicRename,
      boolean directIo,
      boolean mmap,
      boolean locks,
      boolean append,
      boolean readWhileWriting,
      boolean freeSpaceKnown) {}

  /**
   * The files of one folder as {@link #listing} found them. Each file is named by its last element
   * ({@code "manifest.json"}), and opened as {@link #open} and {@link #openSequential} open it.
   */
  interface Listing {
    /**
     * As {@link Storage#open}, for a file directly in the listed folder.
     *
     * @throws java.nio.file.NoSuchFileException when the listing did not find it
     */
    Input open(String file) throws IOException;

    /**
     * As {@link Storage#openSequential}, for a file directly in the listed folder.
     *
     * @throws java.nio.file.NoSuchFileException when the listing did not find it
     */
    Input openSequential(String file) throws IOException;

    /**
     * A listing that lists nothing: each file is opened by name through {@code storage}, which asks
     * for it then. What storage whose opens cost no round trip (a local disk) gives, and what a
     * test double that changes how files open returns to keep its change.
     */
    static Listing byName(Storage storage, String folder) {
      StorageNames.check(folder);
      return new Listing() {
        @Override
        public Input open(String file) throws IOException {
          return storage.open(StorageNames.join(folder, StorageNames.element(file)));
        }

        @Override
        public Input openSequential(String file) throws IOException {
          return storage.openSequential(StorageNames.join(folder, StorageNames.element(file)));
        }
      };
    }
  }

  /** A held lock. */
  interface Lock extends Closeable {}

  /**
   * A new file being written. Close it once; an output that is neither closed nor aborted leaks.
   */
  interface Output extends WritableByteChannel {
    /** Forces what was written so far to stable storage (a no-op where only close publishes). */
    void sync() throws IOException;

    /**
     * Gives up on the file after a failure: closes it without publishing where the storage can
     * (object stores), else like close. The caller still deletes what may have been created.
     */
    default void abort() throws IOException {
      close();
    }
  }

  /** An output for O_DIRECT writes: whole aligned buffers, then {@link #truncate} to the length. */
  interface DirectOutput extends Output {
    /** The alignment buffers, sizes and offsets need. */
    int alignment();

    /** Bytes written so far. */
    long size() throws IOException;

    /** Cuts the file to {@code size} bytes (the padding of the last aligned write). */
    void truncate(long size) throws IOException;
  }

  /** A file open for reading. */
  interface Input extends Closeable {
    /** The file's size when it was opened (or now, where it can grow). */
    long size() throws IOException;

    /**
     * Reads into {@code dst} from {@code position}, advancing only the buffer.
     *
     * @return the bytes read, or -1 at the end of the file
     */
    int read(ByteBuffer dst, long position) throws IOException;

    /**
     * Whether {@link #read} may be called from several threads at once, each with its own buffer
     * and position, and gains from it: a reader may then keep several reads in flight, which is how
     * a disk behind a queue (virtio, NVMe) reaches its speed. False (the default): one read at a
     * time.
     */
    default boolean concurrentReads() {
      return false;
    }

    /**
     * {@code size} bytes from {@code position} as a read-only buffer that stays valid after close:
     * memory-mapped where {@link Capabilities#mmap()}, else copied into a new direct buffer.
     *
     * @throws java.io.EOFException when the file ends before {@code position + size}
     */
    default ByteBuffer map(long position, long size) throws IOException {
      if (size > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException(size + " bytes do not fit one buffer");
      }
      ByteBuffer out = ByteBuffer.allocateDirect((int) size);
      long pos = position;
      while (out.hasRemaining()) {
        int n = read(out, pos);
        if (n < 0) {
          throw new java.io.EOFException("the file ends at byte " + pos);
        }
        pos += n;
      }
      return out.flip().asReadOnlyBuffer();
    }
  }
}
