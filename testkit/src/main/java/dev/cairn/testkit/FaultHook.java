package dev.cairn.testkit;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Called by {@link CrashFileSystem} before every mutating operation, so a test can fail it (disk
 * full, I/O error) or stop the world there ({@link SimulatedCrashException}).
 */
@FunctionalInterface
public interface FaultHook {

  /** The mutating operations a hook sees, in the order the code under test issues them. */
  enum Op {
    CREATE,
    WRITE,
    TRUNCATE,
    FSYNC_FILE,
    FSYNC_DIR,
    MKDIR,
    RENAME,
    DELETE
  }

  /** A hook that lets everything through. */
  FaultHook NONE = (index, op, path) -> {};

  /**
   * Runs before the operation; throwing makes the operation fail without touching the disk.
   *
   * @param index zero-based count of mutating operations seen so far by this file system
   */
  void before(long index, Op op, Path path) throws IOException;

  /** Throws a {@link SimulatedCrashException} at the {@code n}-th mutating operation. */
  static FaultHook crashAt(long n) {
    return (index, op, path) -> {
      if (index == n) {
        throw new SimulatedCrashException("simulated crash before " + op + " " + path);
      }
    };
  }

  /** Fails the {@code n}-th mutating operation with the given message, once. */
  static FaultHook failAt(long n, String message) {
    return (index, op, path) -> {
      if (index == n) {
        throw new IOException(message + ": " + path);
      }
    };
  }
}
