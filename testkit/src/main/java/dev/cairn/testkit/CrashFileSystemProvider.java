package dev.cairn.testkit;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.spi.FileSystemProvider;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/** Passes every call to the real provider and tells the model what changed. */
final class CrashFileSystemProvider extends FileSystemProvider {
  private final CrashFileSystem fs;
  private final FileSystemProvider real;

  CrashFileSystemProvider(CrashFileSystem fs, FileSystemProvider real) {
    this.fs = fs;
    this.real = real;
  }

  private static Path unwrap(Path p) {
    return CrashPath.unwrap(p);
  }

  @Override
  public String getScheme() {
    return "crashfs";
  }

  @Override
  public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
    throw new UnsupportedOperationException("use CrashFileSystem.wrap");
  }

  @Override
  public FileSystem getFileSystem(URI uri) {
    throw new UnsupportedOperationException("use CrashFileSystem.wrap");
  }

  @Override
  public Path getPath(URI uri) {
    throw new UnsupportedOperationException("use CrashFileSystem.root().resolve");
  }

  @Override
  public SeekableByteChannel newByteChannel(
      Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
    return newFileChannel(path, options, attrs);
  }

  @Override
  public FileChannel newFileChannel(
      Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
    Path p = unwrap(path);
    boolean writes =
        options.contains(StandardOpenOption.WRITE) || options.contains(StandardOpenOption.APPEND);
    boolean existed = Files.exists(p, LinkOption.NOFOLLOW_LINKS);
    boolean creates =
        writes
            && (options.contains(StandardOpenOption.CREATE_NEW)
                || (options.contains(StandardOpenOption.CREATE) && !existed));
    boolean truncates = writes && existed && options.contains(StandardOpenOption.TRUNCATE_EXISTING);
    if (creates) {
      fs.beforeMutation(FaultHook.Op.CREATE, p);
    } else if (truncates) {
      fs.beforeMutation(FaultHook.Op.TRUNCATE, p);
    }
    FileChannel channel = real.newFileChannel(p, options, attrs);
    if (creates) {
      fs.created(p, false);
    } else if (truncates) {
      fs.modified(p);
    }
    boolean dir = Files.isDirectory(p);
    return new CrashFileChannel(fs, p, dir, channel);
  }

  @Override
  public DirectoryStream<Path> newDirectoryStream(
      Path dir, DirectoryStream.Filter<? super Path> filter) throws IOException {
    DirectoryStream<Path> inner =
        real.newDirectoryStream(unwrap(dir), p -> filter.accept(new CrashPath(fs, p)));
    return new DirectoryStream<>() {
      @Override
      public Iterator<Path> iterator() {
        Iterator<Path> it = inner.iterator();
        return new Iterator<>() {
          @Override
          public boolean hasNext() {
            return it.hasNext();
          }

          @Override
          public Path next() {
            return new CrashPath(fs, it.next());
          }
        };
      }

      @Override
      public void close() throws IOException {
        inner.close();
      }
    };
  }

  @Override
  public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
    Path p = unwrap(dir);
    fs.beforeMutation(FaultHook.Op.MKDIR, p);
    real.createDirectory(p, attrs);
    fs.created(p, true);
  }

  @Override
  public void delete(Path path) throws IOException {
    Path p = unwrap(path);
    fs.beforeMutation(FaultHook.Op.DELETE, p);
    byte[] before = Files.isRegularFile(p) ? Files.readAllBytes(p) : null;
    real.delete(p);
    fs.removed(p, before);
  }

  @Override
  public void copy(Path source, Path target, CopyOption... options) throws IOException {
    Path t = unwrap(target);
    fs.beforeMutation(FaultHook.Op.CREATE, t);
    real.copy(unwrap(source), t, options);
    fs.created(t, Files.isDirectory(t));
  }

  @Override
  public void move(Path source, Path target, CopyOption... options) throws IOException {
    Path s = unwrap(source);
    Path t = unwrap(target);
    fs.beforeMutation(FaultHook.Op.RENAME, s);
    byte[] replaced = Files.isRegularFile(t) ? Files.readAllBytes(t) : null;
    real.move(s, t, options);
    fs.moved(s, t, replaced);
  }

  @Override
  public boolean isSameFile(Path a, Path b) throws IOException {
    return real.isSameFile(unwrap(a), unwrap(b));
  }

  @Override
  public boolean isHidden(Path path) throws IOException {
    return real.isHidden(unwrap(path));
  }

  @Override
  public FileStore getFileStore(Path path) throws IOException {
    return new CrashFileStore(fs, real.getFileStore(unwrap(path)));
  }

  @Override
  public void checkAccess(Path path, AccessMode... modes) throws IOException {
    real.checkAccess(unwrap(path), modes);
  }

  @Override
  public <V extends FileAttributeView> V getFileAttributeView(
      Path path, Class<V> type, LinkOption... options) {
    return real.getFileAttributeView(unwrap(path), type, options);
  }

  @Override
  public <A extends BasicFileAttributes> A readAttributes(
      Path path, Class<A> type, LinkOption... options) throws IOException {
    return real.readAttributes(unwrap(path), type, options);
  }

  @Override
  public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
      throws IOException {
    return real.readAttributes(unwrap(path), attributes, options);
  }

  @Override
  public void setAttribute(Path path, String attribute, Object value, LinkOption... options)
      throws IOException {
    real.setAttribute(unwrap(path), attribute, value, options);
  }
}
