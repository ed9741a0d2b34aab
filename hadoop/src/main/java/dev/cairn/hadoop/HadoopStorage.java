package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CommonPathCapabilities;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FSDataOutputStreamBuilder;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.PathIsNotEmptyDirectoryException;
import org.apache.hadoop.fs.StreamCapabilities;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * {@link Storage} on a Hadoop {@link FileSystem}: HDFS, S3A, or any FileSystem on the classpath.
 * What it can do is read from the file system, not assumed: a directory rename is atomic on HDFS
 * (and the rename commit strategy is used there) but a copy on object stores (where the marker
 * strategy is used); no Hadoop FileSystem offers O_DIRECT, memory maps or cross-process locks.
 *
 * <p>Hadoop's own answers are bent to the contract here: {@code FileSystem.rename} onto an existing
 * folder nests on HDFS, so renames go through {@code FileContext}, which refuses; {@code create}
 * makes missing parents, so the parent is checked first; an exclusive create on S3A is a
 * conditional PUT that fails only at {@code close()}.
 */
final class HadoopStorage implements Storage {
  /**
   * Schemes whose directory rename is one atomic metadata operation. Only HDFS is assumed: a viewfs
   * mount or an Ozone bucket may sit on an object store, so those (and any other FileSystem) must
   * say so with the atomic-rename path capability or {@link HadoopStorages#ATOMIC_RENAME_KEY}.
   */
  private static final Set<String> ATOMIC_RENAME = Set.of("hdfs");

  private static final int COPY_BYTES = 1 << 20;

  /** Positional reads into direct buffers go through an array this large (per open input). */
  private static final int READ_COPY_BYTES = 8 << 20;

  private final FileSystem fs;
  private final org.apache.hadoop.fs.FileContext names;
  private final Path root;
  private final String scheme;
  private final Capabilities capabilities;

  HadoopStorage(
      FileSystem fs, org.apache.hadoop.fs.FileContext names, Path root, Configuration conf)
      throws IOException {
    this.fs = fs;
    this.names = names;
    this.root = root;
    this.scheme = String.valueOf(root.toUri().getScheme()).toLowerCase(Locale.ROOT);
    boolean atomic =
        conf.getBoolean(
            HadoopStorages.ATOMIC_RENAME_KEY,
            ATOMIC_RENAME.contains(scheme)
                || fs.hasPathCapability(root, "fs.capability.paths.atomic_rename"));
    boolean objectStore = !atomic;
    this.capabilities =
        new Capabilities(
            atomic,
            false,
            false,
            false,
            fs.hasPathCapability(root, CommonPathCapabilities.FS_APPEND),
            !objectStore,
            scheme.equals("hdfs"));
  }

  private Path path(String name) {
    StorageNames.check(name);
    return name.isEmpty() ? root : new Path(root, name);
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
    if (name.isEmpty()) {
      throw new IllegalArgumentException("cannot create a file at the storage's root itself");
    }
    Path p = path(name);
    try {
      if (scheme.equals("hdfs")) {
        // SYNC_BLOCK: every block is forced to the DataNodes' disks as it is closed, so hsync
        // at the end makes the whole file durable, not only its last block. The NameNode checks
        // the parent folder in the same call (a round trip fewer than asking first).
        return new StreamOutput(
            fs.createNonRecursive(
                p,
                FsPermission.getFileDefault().applyUMask(FsPermission.getUMask(fs.getConf())),
                EnumSet.of(CreateFlag.CREATE, CreateFlag.SYNC_BLOCK),
                fs.getConf().getInt("io.file.buffer.size", 4096),
                fs.getDefaultReplication(p),
                fs.getDefaultBlockSize(p),
                null),
            p);
      }
      requireFolder(p.getParent(), name);
      FSDataOutputStreamBuilder<?, ?> b = fs.createFile(p).overwrite(false);
      if (!capabilities.atomicRename()) {
        // Object stores: skip the HEAD and parent probes and let the store refuse an existing
        // name with a conditional PUT at close, the only check two racing writers cannot both
        // pass.
        b.opt("fs.s3a.create.performance", true);
      }
      return new StreamOutput(b.build(), p);
    } catch (IOException e) {
      throw translate(e, p);
    }
  }

  private void requireFolder(Path folder, String forName) throws IOException {
    FileStatus st;
    try {
      st = fs.getFileStatus(folder);
    } catch (FileNotFoundException e) {
      throw new NoSuchFileException(folder.toString(), null, "no folder for " + forName);
    }
    if (!st.isDirectory()) {
      throw new NotDirectoryException(folder.toString());
    }
  }

  @Override
  public Input open(String name) throws IOException {
    Path p = path(name);
    FileStatus st;
    try {
      st = fs.getFileStatus(p);
    } catch (IOException e) {
      throw translate(e, p);
    }
    return open(st, p);
  }

  /**
   * One request for all the files of the folder: a LIST on S3A, one NameNode call on HDFS. Each
   * status it returns is what opening a file would otherwise fetch with a HEAD (or a NameNode
   * call), its etag included: S3A's default input stream in Hadoop 3.5 (the analytics stream) sends
   * a HEAD of its own unless it has the etag, so declaring only the length ({@code
   * fs.option.openfile.length}) would move the HEAD, not save it; and a declared length longer than
   * the object (a damaged checkpoint) hangs the prefetching stream. A folder that is a file throws
   * NotDirectoryException.
   */
  @Override
  public Listing listing(String folder) throws IOException {
    Path p = path(folder);
    java.util.Map<String, FileStatus> found = new java.util.HashMap<>();
    try {
      for (FileStatus s : fs.listStatus(p)) {
        if (s.isFile() && s.getPath().toUri().getPath().equals(p.toUri().getPath())) {
          throw new NotDirectoryException(p.toString()); // a file lists as itself
        }
        found.put(s.getPath().getName(), s);
      }
    } catch (IOException e) {
      throw translate(e, p);
    }
    return new Listing() {
      @Override
      public Input open(String file) throws IOException {
        Path f = new Path(p, StorageNames.element(file));
        FileStatus st = found.get(file);
        if (st == null) {
          throw new NoSuchFileException(f.toString(), null, "not in the listing of its folder");
        }
        return HadoopStorage.this.open(st, f);
      }

      @Override
      public Input openSequential(String file) throws IOException {
        return open(file);
      }
    };
  }

  /** Opens the file a status describes, without asking for it again. */
  private Input open(FileStatus st, Path p) throws IOException {
    if (st.isDirectory()) {
      throw new IOException(p + " is a folder, not a file");
    }
    try {
      FSDataInputStream in = fs.openFile(p).withFileStatus(st).build().get();
      return new StreamInput(in, st.getLen(), p);
    } catch (IOException e) {
      throw translate(e, p);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while opening " + p);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause();
      throw c instanceof IOException io ? translate(io, p) : new IOException(c);
    }
  }

  @Override
  public void createFolder(String name) throws IOException {
    Path p = path(name);
    if (fs.exists(p)) {
      throw new FileAlreadyExistsException(p.toString());
    }
    if (scheme.equals("hdfs")) {
      // A mkdir that does not create parents: the NameNode checks the parent in the same call.
      try {
        names.mkdir(p, FsPermission.getDirDefault(), false);
      } catch (IOException e) {
        throw translate(e, p);
      }
      return;
    }
    requireFolder(p.getParent(), name);
    mkdirs(p);
  }

  @Override
  public void createFolders(String name) throws IOException {
    mkdirs(path(name));
  }

  private void mkdirs(Path p) throws IOException {
    try {
      if (!fs.mkdirs(p)) {
        throw new IOException("could not create folder " + p);
      }
    } catch (IOException e) {
      throw translate(e, p);
    }
  }

  @Override
  public void syncFolder(String name) {
    // A name operation on HDFS is in the NameNode's edit log when it returns; an object store has
    // no folder entries to flush. Nothing to force.
  }

  @Override
  public void rename(String from, String to) throws IOException {
    Path source = path(from);
    Path target = path(to);
    // FileSystem.rename nests a folder renamed onto an existing one (HDFS) after any check we could
    // make: FileContext's rename without OVERWRITE refuses an existing target in the same atomic
    // NameNode operation, so two writers renaming onto one step cannot both win.
    try {
      names.rename(source, target, org.apache.hadoop.fs.Options.Rename.NONE);
    } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
      FileAlreadyExistsException x =
          new FileAlreadyExistsException(target.toString(), null, "rename target exists");
      x.initCause(e);
      throw x;
    } catch (IOException e) {
      throw translate(e, source);
    }
  }

  @Override
  public List<String> list(String folder) throws IOException {
    Path p = path(folder);
    FileStatus[] all;
    try {
      FileStatus st = fs.getFileStatus(p);
      if (!st.isDirectory()) {
        throw new NotDirectoryException(p.toString());
      }
      all = fs.listStatus(p);
    } catch (IOException e) {
      throw translate(e, p);
    }
    List<String> out = new ArrayList<>(all.length);
    for (FileStatus s : all) {
      out.add(s.getPath().getName());
    }
    Collections.sort(out);
    return out;
  }

  @Override
  public void delete(String name) throws IOException {
    Path p = path(name);
    try {
      fs.delete(p, false);
    } catch (FileNotFoundException e) {
      // Already gone: deleting is idempotent.
    } catch (PathIsNotEmptyDirectoryException e) {
      throw new DirectoryNotEmptyException(p.toString());
    } catch (IOException e) {
      // Object stores refuse a non-recursive delete of a non-empty prefix in their own words.
      if (isFolder(name) && !list(name).isEmpty()) {
        throw new DirectoryNotEmptyException(p.toString());
      }
      throw translate(e, p);
    }
  }

  @Override
  public void deleteTree(String name) throws IOException {
    Path p = path(name);
    try {
      fs.delete(p, true);
    } catch (FileNotFoundException e) {
      // Already gone.
    } catch (IOException e) {
      throw translate(e, p);
    }
  }

  @Override
  public boolean exists(String name) throws IOException {
    Path p = path(name);
    try {
      fs.getFileStatus(p);
      return true;
    } catch (FileNotFoundException e) {
      return false;
    } catch (IOException e) {
      throw translate(e, p);
    }
  }

  @Override
  public boolean isFolder(String name) throws IOException {
    Path p = path(name);
    try {
      return fs.getFileStatus(p).isDirectory();
    } catch (FileNotFoundException e) {
      return false;
    } catch (IOException e) {
      throw translate(e, p);
    }
  }

  @Override
  public long size(String name) throws IOException {
    Path p = path(name);
    try {
      FileStatus st = fs.getFileStatus(p);
      if (st.isDirectory()) {
        throw new IOException(p + " is a folder, not a file");
      }
      return st.getLen();
    } catch (IOException e) {
      throw translate(e, p);
    }
  }

  @Override
  public java.util.Optional<java.time.Instant> lastModified(String name) throws IOException {
    Path p = path(name);
    try {
      long t = fs.getFileStatus(p).getModificationTime();
      return t > 0
          ? java.util.Optional.of(java.time.Instant.ofEpochMilli(t))
          : java.util.Optional.empty();
    } catch (IOException e) {
      throw translate(e, p);
    }
  }

  @Override
  public OptionalLong usableSpace(String folder) throws IOException {
    if (!capabilities.freeSpaceKnown()) {
      return OptionalLong.empty();
    }
    Path p = path(folder);
    try {
      return OptionalLong.of(fs.getStatus(p).getRemaining());
    } catch (IOException e) {
      throw translate(e, p);
    }
  }

  /** Hadoop's exceptions as the contract names them; anything else keeps its own message. */
  static IOException translate(IOException e, Path p) {
    if (e instanceof NoSuchFileException
        || e instanceof FileAlreadyExistsException
        || e instanceof NotDirectoryException
        || e instanceof DirectoryNotEmptyException) {
      return e;
    }
    if (e instanceof org.apache.hadoop.fs.ParentNotDirectoryException) {
      NotDirectoryException n = new NotDirectoryException(p.getParent().toString());
      n.initCause(e);
      return n;
    }
    if (e instanceof FileNotFoundException) {
      NoSuchFileException n = new NoSuchFileException(p.toString(), null, e.getMessage());
      n.initCause(e);
      return n;
    }
    if (e instanceof org.apache.hadoop.fs.FileAlreadyExistsException
        || (e instanceof org.apache.hadoop.ipc.RemoteException re
            && re.getClassName().endsWith(".AlreadyBeingCreatedException"))) {
      // HDFS: another client is still writing that name (it holds the lease), so it exists.
      FileAlreadyExistsException x = new FileAlreadyExistsException(p.toString(), null, "exists");
      x.initCause(e);
      return x;
    }
    return RemoteFailures.explain(e, p.toString());
  }

  /** An output over a Hadoop stream; on object stores the bytes appear, whole, at close. */
  private static final class StreamOutput implements Output {
    private final FSDataOutputStream out;
    private final Path path;
    private byte[] copy; // for direct buffers, made on the first such write
    private boolean open = true;

    StreamOutput(FSDataOutputStream out, Path path) {
      this.out = out;
      this.path = path;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      int n = src.remaining();
      if (src.hasArray()) {
        out.write(src.array(), src.arrayOffset() + src.position(), n);
        src.position(src.limit());
        return n;
      }
      if (copy == null) {
        copy = new byte[COPY_BYTES];
      }
      while (src.hasRemaining()) {
        int k = Math.min(copy.length, src.remaining());
        src.get(copy, 0, k);
        out.write(copy, 0, k);
      }
      return n;
    }

    @Override
    public void sync() throws IOException {
      // hsync waits for every DataNode of the pipeline; object stores have no such step and
      // persist at close, so syncing them would only log a warning.
      if (out.hasCapability(StreamCapabilities.HSYNC)) {
        out.hsync();
      } else if (out.hasCapability(StreamCapabilities.HFLUSH)) {
        out.hflush();
      }
    }

    @Override
    public void abort() throws IOException {
      if (!open) {
        return;
      }
      open = false;
      if (out.hasCapability(StreamCapabilities.ABORTABLE_STREAM)) {
        out.abort(); // nothing is published
      } else {
        out.close();
      }
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() throws IOException {
      if (!open) {
        return;
      }
      open = false;
      try {
        out.close();
      } catch (IOException e) {
        throw conflictOrSame(e, path);
      }
    }

    /** S3's answer to a conditional PUT that lost a race (HTTP 412) as FileAlreadyExists. */
    private static IOException conflictOrSame(IOException e, Path path) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        String m = String.valueOf(t.getMessage());
        if (t instanceof org.apache.hadoop.fs.FileAlreadyExistsException
            || m.contains("Status Code: 412")
            || m.contains("PreconditionFailed")
            || t.getClass().getSimpleName().equals("RemoteFileChangedException")) {
          FileAlreadyExistsException x =
              new FileAlreadyExistsException(
                  path.toString(), null, "another writer created it first");
          x.initCause(e);
          return x;
        }
      }
      return e;
    }
  }

  /**
   * An input over a Hadoop stream with positional reads. Object stores send the first request at
   * the first read, so a file deleted since it was found is reported there, as NoSuchFileException.
   */
  private static final class StreamInput implements Input {
    private final FSDataInputStream in;
    private final long size;
    private final Path path;
    private final boolean byteBufferReads;
    private byte[] copy; // guarded by this

    StreamInput(FSDataInputStream in, long size, Path path) {
      this.in = in;
      this.size = size;
      this.path = path;
      this.byteBufferReads = in.hasCapability(StreamCapabilities.PREADBYTEBUFFER);
    }

    @Override
    public long size() {
      return size;
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      if (position >= size) {
        return -1;
      }
      if (!dst.hasRemaining()) {
        return 0;
      }
      try {
        return readAt(dst, position);
      } catch (IOException e) {
        throw translate(e, path);
      }
    }

    private int readAt(ByteBuffer dst, long position) throws IOException {
      if (byteBufferReads) {
        return in.read(position, dst);
      }
      if (dst.hasArray()) {
        int n = in.read(position, dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
        if (n > 0) {
          dst.position(dst.position() + n);
        }
        return n;
      }
      // One array per input, reused under this input's lock: a stream without positional
      // ByteBuffer reads (S3A) serializes its positional reads on its own lock anyway, and a
      // fresh array per call cost a zeroed allocation of every byte restored.
      synchronized (this) {
        int want = Math.min(READ_COPY_BYTES, dst.remaining());
        if (copy == null || copy.length < want) {
          copy = new byte[Math.max(want, 1 << 16)]; // small files get small arrays
        }
        int n = in.read(position, copy, 0, Math.min(copy.length, dst.remaining()));
        if (n > 0) {
          dst.put(copy, 0, n);
        }
        return n;
      }
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
