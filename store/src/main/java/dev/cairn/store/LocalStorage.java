package dev.cairn.store;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystems;
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
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link Storage} under a folder of a {@code java.nio} file system: the default disk, or a test's
 * crash-simulating one. O_DIRECT and memory maps are offered on the default file system only, where
 * the JDK's channels implement them.
 */
final class LocalStorage implements Storage {
  /** Files at least this large are scanned with O_DIRECT by {@link #openSequential}. */
  private static final long DIRECT_READ_BYTES = 64L << 20;

  private static final Map<FileStore, Integer> DIRECT_ALIGNMENT = new ConcurrentHashMap<>();

  private final Path root;
  private final boolean atomicRename;
  private final boolean defaultFileSystem;
  private final Capabilities capabilities;

  LocalStorage(Path root, boolean atomicRename) {
    this.root = java.util.Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
    this.atomicRename = atomicRename;
    this.defaultFileSystem = root.getFileSystem().equals(FileSystems.getDefault());
    this.capabilities =
        new Capabilities(
            atomicRename, defaultFileSystem, defaultFileSystem, true, true, true, true);
  }

  private Path path(String name) {
    StorageNames.check(name);
    return name.isEmpty() ? root : root.resolve(name);
  }

  @Override
  public Capabilities capabilities() {
    return capabilities;
  }

  @Override
  public String location(String name) {
    return path(name).toString();
  }

  @Override
  public Output create(String name) throws IOException {
    return new ChannelOutput(
        FileChannel.open(path(name), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
  }

  @Override
  public Optional<DirectOutput> createDirect(String name) throws IOException {
    if (!defaultFileSystem) {
      return Optional.empty();
    }
    Path file = path(name);
    Path folder = file.getParent();
    if (folder == null || name.isEmpty()) {
      throw new IllegalArgumentException("cannot create a file at the storage's root itself");
    }
    FileStore store = Files.getFileStore(folder);
    Integer alignment = DIRECT_ALIGNMENT.get(store);
    if (alignment == null) {
      alignment = probeDirect(folder);
      DIRECT_ALIGNMENT.put(store, alignment);
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
    return Optional.of(new ChannelDirectOutput(ch, alignment));
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
  public Input open(String name) throws IOException {
    return new ChannelInput(
        FileChannel.open(path(name), StandardOpenOption.READ), defaultFileSystem);
  }

  @Override
  public Input openSequential(String name) throws IOException {
    Path file = path(name);
    if (defaultFileSystem && Files.size(file) >= DIRECT_READ_BYTES) {
      try {
        return new ChannelInput(
            FileChannel.open(file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT), false);
      } catch (NoSuchFileException e) {
        throw e;
      } catch (IOException | UnsupportedOperationException e) {
        // Not supported here (tmpfs and others): read through the page cache.
      }
    }
    return open(name);
  }

  @Override
  public void createFolder(String name) throws IOException {
    Files.createDirectory(path(name));
  }

  @Override
  public void createFolders(String name) throws IOException {
    createFolders(path(name));
  }

  private void createFolders(Path abs) throws IOException {
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
      Fsync.folder(parent);
    }
  }

  @Override
  public void syncFolder(String name) throws IOException {
    Fsync.folder(path(name));
  }

  @Override
  public void rename(String from, String to) throws IOException {
    Path source = path(from);
    Path target = path(to);
    // Files.move with ATOMIC_MOVE may replace an existing target; a rename here never does.
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      throw new java.nio.file.FileAlreadyExistsException(target.toString(), null, "rename target");
    }
    if (!atomicRename && Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
      copyThenDelete(source, target);
      return;
    }
    Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * A folder rename as object stores do it: copy every file, then delete the sources, the manifest
   * last (the worst order for a reader), so tests of the marker strategy see what a crash
   * mid-rename leaves there. Folders are flat here (checkpoint folders are).
   */
  private static void copyThenDelete(Path from, Path to) throws IOException {
    Files.createDirectory(to);
    List<Path> sources = entries(from);
    for (Path src : sources) {
      try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ);
          FileChannel out =
              FileChannel.open(
                  to.resolve(String.valueOf(src.getFileName())),
                  StandardOpenOption.CREATE_NEW,
                  StandardOpenOption.WRITE)) {
        long size = in.size();
        for (long pos = 0; pos < size; ) {
          pos += in.transferTo(pos, size - pos, out);
        }
        Fsync.channel(out);
      }
    }
    Fsync.folder(to);
    sources.sort(
        java.util.Comparator.comparing(
            (Path p) -> String.valueOf(p.getFileName()).equals("manifest.json")));
    for (Path src : sources) {
      Files.delete(src);
    }
    Files.delete(from);
  }

  private static List<Path> entries(Path folder) throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(folder)) {
      s.forEach(out::add);
    }
    Collections.sort(out);
    return out;
  }

  @Override
  public List<String> list(String folder) throws IOException {
    List<String> out = new ArrayList<>();
    for (Path p : entries(path(folder))) {
      out.add(String.valueOf(p.getFileName()));
    }
    return out;
  }

  @Override
  public void delete(String name) throws IOException {
    try {
      Files.delete(path(name));
    } catch (NoSuchFileException e) {
      // Already gone: deleting is idempotent so cleanup can be retried after a crash.
    }
  }

  @Override
  public void deleteTree(String name) throws IOException {
    deleteTree(path(name));
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      for (Path child : entries(p)) {
        deleteTree(child);
      }
    }
    try {
      Files.delete(p);
    } catch (NoSuchFileException e) {
      // Deleted by someone else meanwhile: the outcome is the one asked for.
    }
  }

  @Override
  public boolean exists(String name) {
    return Files.exists(path(name), LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public boolean isFolder(String name) {
    return Files.isDirectory(path(name), LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public long size(String name) throws IOException {
    return Files.size(path(name));
  }

  @Override
  public Optional<java.time.Instant> lastModified(String name) throws IOException {
    return Optional.of(
        Files.getLastModifiedTime(path(name), LinkOption.NOFOLLOW_LINKS).toInstant());
  }

  @Override
  public OptionalLong usableSpace(String folder) throws IOException {
    return OptionalLong.of(Files.getFileStore(path(folder)).getUsableSpace());
  }

  @Override
  public Lock lock(String name) throws IOException {
    return FileLocks.lock(path(name));
  }

  @Override
  public Optional<Lock> tryLock(String name) throws IOException {
    return FileLocks.tryLock(path(name));
  }

  /** An output over a file channel. */
  private static class ChannelOutput implements Output {
    final FileChannel channel;

    ChannelOutput(FileChannel channel) {
      this.channel = channel;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      return channel.write(src);
    }

    @Override
    public void sync() throws IOException {
      Fsync.channel(channel);
    }

    @Override
    public boolean isOpen() {
      return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }

  private static final class ChannelDirectOutput extends ChannelOutput implements DirectOutput {
    private final int alignment;

    ChannelDirectOutput(FileChannel channel, int alignment) {
      super(channel);
      this.alignment = alignment;
    }

    @Override
    public int alignment() {
      return alignment;
    }

    @Override
    public long size() throws IOException {
      return channel.size();
    }

    @Override
    public void truncate(long size) throws IOException {
      channel.truncate(size);
    }
  }

  /** An input over a file channel; maps where the file system's channels can. */
  private static final class ChannelInput implements Input {
    private final FileChannel channel;
    private final boolean mmap;

    ChannelInput(FileChannel channel, boolean mmap) {
      this.channel = channel;
      this.mmap = mmap;
    }

    @Override
    public long size() throws IOException {
      return channel.size();
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return channel.read(dst, position);
    }

    /** A file channel's positional reads are safe from several threads (its contract). */
    @Override
    public boolean concurrentReads() {
      return true;
    }

    @Override
    public ByteBuffer map(long position, long size) throws IOException {
      if (position + size > channel.size()) {
        throw new java.io.EOFException(
            "the file ends at byte " + channel.size() + ", before " + (position + size));
      }
      if (!mmap) {
        return Input.super.map(position, size);
      }
      MappedByteBuffer m = channel.map(FileChannel.MapMode.READ_ONLY, position, size);
      return m;
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }
}
