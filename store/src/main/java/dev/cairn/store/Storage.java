package dev.cairn.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;

/**
 * The bytes-and-fsync contract the checkpoint commit protocol is written against. It knows nothing
 * about checkpoints. Implementations: {@link #local()} for any {@code java.nio} file system (the
 * default disk, or a test's crash-simulating one). An HDFS or object-store implementation (through
 * the Hadoop FileSystem API) would answer {@link #atomicRename()} with false, and the commit
 * protocol then publishes with a marker written last instead of a rename.
 */
public interface Storage {

  /** Storage on any {@code java.nio} file system, with real fsyncs and atomic renames. */
  static Storage local() {
    return new LocalStorage(true);
  }

  /**
   * Local storage whose folder renames are not atomic, to run the marker commit strategy on a local
   * disk (tests, and file systems such as some FUSE mounts where rename is a copy): a folder is
   * renamed as an object store does it, by copying its files and then deleting the sources.
   */
  static Storage localWithoutAtomicRename() {
    return new LocalStorage(false);
  }

  /** Creates a new file open for writing; fails with FileAlreadyExistsException if it exists. */
  FileChannel create(Path file) throws IOException;

  /**
   * Creates a new file for unbuffered writing (O_DIRECT), or returns empty when the file system
   * cannot do that (tmpfs, object stores), in which case nothing was created. Writes to it must
   * come from buffers aligned to, and sized in multiples of, {@link DirectFile#alignment()}.
   */
  default java.util.Optional<DirectFile> createDirect(Path file) throws IOException {
    return java.util.Optional.empty();
  }

  /** A file open for O_DIRECT writes and the alignment its buffers, sizes and offsets need. */
  record DirectFile(FileChannel channel, int alignment) {}

  /** Opens an existing file for reading. */
  FileChannel openRead(Path file) throws IOException;

  /** Creates one folder; fails with FileAlreadyExistsException if it exists. */
  void createFolder(Path folder) throws IOException;

  /** Creates a folder and its missing parents, syncing each parent that gained an entry. */
  void createFolders(Path folder) throws IOException;

  /** Forces an open file's content to stable storage. */
  void sync(FileChannel file) throws IOException;

  /** Forces a folder's entries (names created, renamed or deleted in it) to stable storage. */
  void syncFolder(Path folder) throws IOException;

  /**
   * Renames a file or folder; the target must not exist. Atomic when {@link #atomicRename()} is
   * true: a reader (or a crash) sees the old name or the new one, never a mix.
   */
  void rename(Path from, Path to) throws IOException;

  /** Whether {@link #rename} publishes a whole folder at once. */
  boolean atomicRename();

  /** The entries of a folder, sorted by name. */
  List<Path> list(Path folder) throws IOException;

  /** Deletes a file or an empty folder; a missing path is not an error. */
  void delete(Path path) throws IOException;

  /** Deletes a folder and everything under it; a missing path is not an error. */
  void deleteTree(Path folder) throws IOException;

  boolean exists(Path path);

  boolean isFolder(Path path);

  long size(Path file) throws IOException;

  /** Bytes a new file in this folder may still use. */
  long usableSpace(Path folder) throws IOException;

  /**
   * An exclusive lock on {@code file} (created when missing) that excludes other processes and
   * other threads of this JVM alike, held until closed.
   */
  interface Lock extends java.io.Closeable {}

  /**
   * Takes the lock, waiting while another holder has it.
   *
   * @throws IOException when the lock file cannot be created or locked
   */
  Lock lock(Path file) throws IOException;

  /** Takes the lock if nobody holds it; empty at once when another process or thread does. */
  java.util.Optional<Lock> tryLock(Path file) throws IOException;
}
