package dev.cairn.store;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** {@link Storage} on a {@code java.nio} file system. */
final class LocalStorage implements Storage {
  private final boolean atomicRename;
  private final Map<FileStore, Integer> directAlignment = new ConcurrentHashMap<>();

  LocalStorage(boolean atomicRename) {
    this.atomicRename = atomicRename;
  }

  @Override
  public FileChannel create(Path file) throws IOException {
    return FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
  }

  @Override
  public Optional<DirectFile> createDirect(Path file) throws IOException {
    Path folder = file.toAbsolutePath().getParent();
    if (folder == null) {
      return Optional.empty();
    }
    FileStore store = Files.getFileStore(folder);
    Integer alignment = directAlignment.get(store);
    if (alignment == null) {
      alignment = probeDirect(folder);
      directAlignment.put(store, alignment);
    }
    if (alignment <= 0) {
      return Optional.empty();
    }
    FileChannel ch =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE,
            ExtendedOpenOption.DIRECT);
    return Optional.of(new DirectFile(ch, alignment));
  }

  /**
   * Whether O_DIRECT works in this folder, found by trying it on a scratch file (some file systems
   * create the file and then refuse the flag, so real files are never used to probe).
   */
  private static int probeDirect(Path folder) {
    Path probe = folder.resolve(".direct-probe-" + Long.toHexString(System.nanoTime()));
    try {
      long block = Files.getFileStore(folder).getBlockSize();
      int alignment = (int) Math.max(4096, block);
      try (FileChannel ch =
          FileChannel.open(
              probe,
              StandardOpenOption.CREATE_NEW,
              StandardOpenOption.WRITE,
              ExtendedOpenOption.DIRECT)) {
        ByteBuffer b = ByteBuffer.allocateDirect(alignment * 2).alignedSlice(alignment);
        b.limit(alignment);
        ch.write(b);
      }
      return alignment;
    } catch (IOException | UnsupportedOperationException e) {
      return 0;
    } finally {
      try {
        Files.deleteIfExists(probe);
      } catch (IOException ignored) {
        // A leftover probe file is harmless and is not a checkpoint.
      }
    }
  }

  @Override
  public FileChannel openRead(Path file) throws IOException {
    return FileChannel.open(file, StandardOpenOption.READ);
  }

  @Override
  public void createFolder(Path folder) throws IOException {
    Files.createDirectory(folder);
  }

  @Override
  public void createFolders(Path folder) throws IOException {
    Path abs = folder.toAbsolutePath();
    if (Files.isDirectory(abs)) {
      return;
    }
    Path parent = abs.getParent();
    if (parent != null) {
      createFolders(parent);
    }
    try {
      Files.createDirectory(abs);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      if (!Files.isDirectory(abs)) {
        throw e;
      }
      return;
    }
    if (parent != null) {
      syncFolder(parent);
    }
  }

  @Override
  public void sync(FileChannel file) throws IOException {
    Fsync.channel(file);
  }

  @Override
  public void syncFolder(Path folder) throws IOException {
    Fsync.folder(folder);
  }

  @Override
  public void rename(Path from, Path to) throws IOException {
    if (Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
      throw new java.nio.file.FileAlreadyExistsException(to.toString(), null, "rename target");
    }
    if (!atomicRename && Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
      copyThenDelete(from, to);
      return;
    }
    Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * A folder rename as object stores do it: copy every file, then delete the sources, the manifest
   * last (the worst order for a reader), so tests of the marker strategy see what a crash
   * mid-rename leaves there.
   */
  private void copyThenDelete(Path from, Path to) throws IOException {
    Files.createDirectory(to);
    List<Path> sources = list(from);
    for (Path src : sources) {
      try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ);
          FileChannel out = create(to.resolve(String.valueOf(src.getFileName())))) {
        long size = in.size();
        for (long pos = 0; pos < size; ) {
          pos += in.transferTo(pos, size - pos, out);
        }
        sync(out);
      }
    }
    syncFolder(to);
    sources.sort(
        java.util.Comparator.comparing(
            (Path p) -> String.valueOf(p.getFileName()).equals("manifest.json")));
    for (Path src : sources) {
      Files.delete(src);
    }
    Files.delete(from);
  }

  @Override
  public boolean atomicRename() {
    return atomicRename;
  }

  @Override
  public List<Path> list(Path folder) throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(folder)) {
      s.forEach(out::add);
    }
    Collections.sort(out);
    return out;
  }

  @Override
  public void delete(Path path) throws IOException {
    try {
      Files.delete(path);
    } catch (NoSuchFileException e) {
      // Already gone: deleting is idempotent so cleanup can be retried after a crash.
    }
  }

  @Override
  public void deleteTree(Path folder) throws IOException {
    if (!Files.exists(folder, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
      for (Path child : list(folder)) {
        deleteTree(child);
      }
    }
    delete(folder);
  }

  @Override
  public boolean exists(Path path) {
    return Files.exists(path, LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public boolean isFolder(Path path) {
    return Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public long size(Path file) throws IOException {
    return Files.size(file);
  }

  @Override
  public long usableSpace(Path folder) throws IOException {
    return Files.getFileStore(folder).getUsableSpace();
  }

  @Override
  public Lock lock(Path file) throws IOException {
    return FileLocks.lock(file);
  }

  @Override
  public Optional<Lock> tryLock(Path file) throws IOException {
    return FileLocks.tryLock(file);
  }
}
