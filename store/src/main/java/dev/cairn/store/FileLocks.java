package dev.cairn.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * Cross-process locks on files that also exclude threads of this JVM. A {@link FileLock} alone
 * cannot: the JVM holds it for the whole process, and a second lock on the same file from this
 * process throws instead of waiting. So each file also has a JVM-wide permit, taken first.
 */
final class FileLocks {
  private static final ConcurrentHashMap<Path, Semaphore> PERMITS = new ConcurrentHashMap<>();

  private FileLocks() {}

  static Storage.Lock lock(Path file) throws IOException {
    Semaphore permit = permit(file);
    permit.acquireUninterruptibly();
    try {
      FileChannel ch = open(file);
      try {
        return held(ch.lock(), ch, permit);
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    } catch (IOException | RuntimeException e) {
      permit.release();
      throw e;
    }
  }

  static Optional<Storage.Lock> tryLock(Path file) throws IOException {
    Semaphore permit = permit(file);
    if (!permit.tryAcquire()) {
      return Optional.empty();
    }
    try {
      FileChannel ch = open(file);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
      if (lock == null) {
        ch.close();
        permit.release();
        return Optional.empty();
      }
      return Optional.of(held(lock, ch, permit));
    } catch (IOException | RuntimeException e) {
      permit.release();
      throw e;
    }
  }

  private static Semaphore permit(Path file) {
    return PERMITS.computeIfAbsent(file.toAbsolutePath().normalize(), p -> new Semaphore(1));
  }

  private static FileChannel open(Path file) throws IOException {
    return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
  }

  private static Storage.Lock held(FileLock lock, FileChannel ch, Semaphore permit) {
    return new Storage.Lock() {
      private boolean released;

      @Override
      public synchronized void close() throws IOException {
        if (released) {
          return;
        }
        released = true;
        try {
          lock.release();
        } finally {
          try {
            ch.close();
          } finally {
            permit.release();
          }
        }
      }
    };
  }
}
