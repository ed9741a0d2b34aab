package dev.cairn.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A {@link FileSystem} over a real folder that remembers what was never made durable — file data
 * not fsynced and folder entries (create, rename, delete) whose folder was not fsynced — and on
 * {@link #crash(long)} loses, truncates, zeroes, garbles or keeps each of those at random, the way
 * a power cut can. Modelled on Lucene's MockDirectoryWrapper and SQLite's crash VFS.
 *
 * <p>Only operations made through this file system's paths are tracked; everything that existed in
 * the folder when it was wrapped counts as durable. Fsync is simulated (the real disk is not
 * flushed), which keeps thousands of crash iterations fast.
 *
 * <p>The model is inode-like: a folder's entries point to nodes, so renaming a folder carries its
 * children, and a rename or unlink whose parent folder was not fsynced may be undone by a crash.
 */
public final class CrashFileSystem extends FileSystem {

  /** A file or folder; folder entries are kept twice: as they are now and as last fsynced. */
  static final class Node {
    final boolean dir;
    final Map<String, Node> entries = new TreeMap<>();
    Map<String, Node> durableEntries = new TreeMap<>();
    byte[] durable = new byte[0];
    boolean synced = true;

    /** Content captured when an unsynced file was unlinked, so a crash can bring it back. */
    byte[] detached;

    Node(boolean dir) {
      this.dir = dir;
    }
  }

  private final Path realRoot;
  private final FileSystem delegate;
  private final CrashFileSystemProvider provider;
  private Node root;
  private volatile FaultHook hook = FaultHook.NONE;
  private long opIndex;
  private boolean dead;
  private long usableSpace = -1;

  private CrashFileSystem(Path realRoot) throws IOException {
    this.realRoot = realRoot.toAbsolutePath().normalize();
    this.delegate = this.realRoot.getFileSystem();
    this.provider = new CrashFileSystemProvider(this, delegate.provider());
    this.root = scan(this.realRoot);
  }

  /** Wraps an existing real folder; its current content counts as durable. */
  public static CrashFileSystem wrap(Path realFolder) throws IOException {
    Files.createDirectories(realFolder);
    return new CrashFileSystem(realFolder);
  }

  /** The wrapped folder as a path of this file system: use it (and paths under it) in tests. */
  public Path root() {
    return new CrashPath(this, realRoot);
  }

  /** Sets the hook consulted before each mutating operation. */
  public synchronized void setFaultHook(FaultHook hook) {
    this.hook = hook == null ? FaultHook.NONE : hook;
  }

  /** Makes the file stores report this many usable bytes; negative means the real figure. */
  public synchronized void setUsableSpace(long bytes) {
    this.usableSpace = bytes;
  }

  synchronized long usableSpaceOverride() {
    return usableSpace;
  }

  /** How many mutating operations this file system has seen (the indexes a hook receives). */
  public synchronized long operationCount() {
    return opIndex;
  }

  /**
   * Simulates a power cut: every change that was not made durable is, at random, kept, lost,
   * truncated, zeroed or garbled; then the real folder holds the post-crash state, the file system
   * works again, and everything in it counts as durable. The same seed after the same operations
   * gives the same outcome.
   */
  public synchronized void crash(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    try {
      Map<Node, Path> current = new IdentityHashMap<>();
      currentPaths(root, realRoot, current);
      Map<Node, byte[]> contents = new IdentityHashMap<>();
      Map<Path, byte[]> files = new TreeMap<>();
      Set<Path> dirs = new TreeSet<>();
      plan(root, realRoot, random, current, contents, files, dirs, new ArrayList<>());
      wipe(realRoot);
      for (Path dir : dirs) {
        Files.createDirectories(dir);
      }
      for (Map.Entry<Path, byte[]> file : files.entrySet()) {
        Files.write(file.getKey(), file.getValue());
      }
      root = scan(realRoot);
      dead = false;
      opIndex = 0;
      hook = FaultHook.NONE;
    } catch (IOException e) {
      throw new UncheckedIOException("crash simulation could not rewrite " + realRoot, e);
    }
  }

  private static void currentPaths(Node dir, Path at, Map<Node, Path> out) {
    for (Map.Entry<String, Node> e : dir.entries.entrySet()) {
      Path p = at.resolve(e.getKey());
      out.putIfAbsent(e.getValue(), p);
      if (e.getValue().dir) {
        currentPaths(e.getValue(), p, out);
      }
    }
  }

  private void plan(
      Node dir,
      Path at,
      SplittableRandom random,
      Map<Node, Path> current,
      Map<Node, byte[]> contents,
      Map<Path, byte[]> files,
      Set<Path> dirs,
      List<Node> ancestors)
      throws IOException {
    ancestors.add(dir);
    Set<String> names = new TreeSet<>(dir.entries.keySet());
    names.addAll(dir.durableEntries.keySet());
    for (String name : names) {
      Node now = dir.entries.get(name);
      Node before = dir.durableEntries.get(name);
      Node chosen = now == before ? now : (random.nextBoolean() ? now : before);
      if (chosen == null || ancestors.contains(chosen)) {
        continue;
      }
      Path p = at.resolve(name);
      if (chosen.dir) {
        dirs.add(p);
        plan(chosen, p, random, current, contents, files, dirs, ancestors);
      } else {
        byte[] content = contents.get(chosen);
        if (content == null) {
          content = afterCrash(chosen, current.get(chosen), random);
          contents.put(chosen, content);
        }
        files.put(p, content);
      }
    }
    ancestors.remove(ancestors.size() - 1);
  }

  private static byte[] afterCrash(Node file, Path currentPath, SplittableRandom random)
      throws IOException {
    if (file.synced) {
      return file.durable;
    }
    byte[] now =
        currentPath != null
            ? Files.readAllBytes(currentPath)
            : (file.detached != null ? file.detached : file.durable);
    // Bytes that were fsynced and only appended to since stay: a power cut tears what came after
    // the last sync, not what a sync made durable. A file rewritten in place may tear anywhere.
    int kept =
        now.length >= file.durable.length
                && java.util.Arrays.equals(
                    now, 0, file.durable.length, file.durable, 0, file.durable.length)
            ? file.durable.length
            : 0;
    switch (random.nextInt(5)) {
      case 0:
        return now;
      case 1:
        return file.durable;
      case 2:
        return java.util.Arrays.copyOf(now, kept + random.nextInt(now.length - kept + 1));
      case 3:
        {
          byte[] zeroed = now.clone();
          int from = kept + random.nextInt(zeroed.length - kept + 1);
          java.util.Arrays.fill(zeroed, from, zeroed.length, (byte) 0);
          return zeroed;
        }
      default:
        {
          byte[] garbled = now.clone();
          int start = Math.min(file.durable.length, garbled.length);
          for (int i = start; i < garbled.length; i++) {
            if (random.nextInt(8) == 0) {
              garbled[i] = (byte) random.nextInt(256);
            }
          }
          return garbled;
        }
    }
  }

  private static void wipe(Path dir) throws IOException {
    List<Path> children = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      s.forEach(children::add);
    }
    for (Path child : children) {
      if (Files.isDirectory(child, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        wipe(child);
      }
      Files.delete(child);
    }
  }

  private static Node scan(Path dir) throws IOException {
    Node node = new Node(true);
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path child : s) {
        Node c;
        if (Files.isDirectory(child, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          c = scan(child);
        } else {
          c = new Node(false);
          c.durable = Files.readAllBytes(child);
        }
        node.entries.put(name(child), c);
      }
    }
    node.durableEntries = new TreeMap<>(node.entries);
    return node;
  }

  private static String name(Path p) {
    Path n = p.getFileName();
    if (n == null) {
      throw new IllegalArgumentException("a file system root has no name: " + p);
    }
    return n.toString();
  }

  private static Path parent(Path p) {
    Path parent = p.getParent();
    if (parent == null) {
      throw new IllegalArgumentException("a file system root has no parent: " + p);
    }
    return parent;
  }

  // ---- the model, updated by the provider and channels ----

  /** Runs the hook; after a simulated crash, every further mutation fails the same way. */
  synchronized void beforeMutation(FaultHook.Op op, Path realPath) throws IOException {
    if (dead) {
      throw new SimulatedCrashException("file system is crashed; " + op + " " + realPath);
    }
    long index = opIndex++;
    try {
      hook.before(index, op, new CrashPath(this, realPath));
    } catch (SimulatedCrashException e) {
      dead = true;
      throw e;
    }
  }

  /** The node at a real path, or null when it is outside the wrapped folder or unknown. */
  synchronized Node lookup(Path realPath) {
    Path abs = realPath.toAbsolutePath().normalize();
    if (!abs.startsWith(realRoot)) {
      return null;
    }
    Node node = root;
    for (Path name : realRoot.relativize(abs)) {
      if (name.toString().isEmpty()) {
        continue;
      }
      if (node == null || !node.dir) {
        return null;
      }
      node = node.entries.get(name.toString());
    }
    return node;
  }

  synchronized void created(Path realPath, boolean dir) {
    Node parent = lookup(parent(realPath.toAbsolutePath().normalize()));
    if (parent != null && parent.dir) {
      Node node = new Node(dir);
      node.synced = dir;
      node.durable = new byte[0];
      parent.entries.put(name(realPath), node);
    }
  }

  synchronized void modified(Path realPath) {
    Node node = lookup(realPath);
    if (node != null && !node.dir) {
      node.synced = false;
    }
  }

  synchronized void removed(Path realPath, byte[] contentBeforeRemoval) {
    Path abs = realPath.toAbsolutePath().normalize();
    Node parent = lookup(parent(abs));
    if (parent != null && parent.dir) {
      Node node = parent.entries.remove(name(abs));
      if (node != null && !node.dir && !node.synced) {
        node.detached = contentBeforeRemoval;
      }
    }
  }

  synchronized void moved(Path realFrom, Path realTo, byte[] replacedContent) {
    Path from = realFrom.toAbsolutePath().normalize();
    Path to = realTo.toAbsolutePath().normalize();
    Node fromParent = lookup(parent(from));
    Node toParent = lookup(parent(to));
    Node node = fromParent == null ? null : fromParent.entries.remove(name(from));
    if (toParent == null) {
      return;
    }
    if (node == null) {
      created(to, Files.isDirectory(to));
      return;
    }
    Node replaced = toParent.entries.put(name(to), node);
    if (replaced != null && !replaced.dir && !replaced.synced) {
      replaced.detached = replacedContent;
    }
  }

  synchronized void synced(Path realPath) throws IOException {
    Node node = lookup(realPath);
    if (node == null) {
      return;
    }
    if (node.dir) {
      node.durableEntries = new TreeMap<>(node.entries);
    } else {
      node.durable = Files.readAllBytes(realPath);
      node.synced = true;
    }
  }

  // ---- FileSystem ----

  @Override
  public FileSystemProvider provider() {
    return provider;
  }

  @Override
  public void close() {
    // The wrapped folder belongs to the test; nothing to release.
  }

  @Override
  public boolean isOpen() {
    return true;
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  @Override
  public String getSeparator() {
    return delegate.getSeparator();
  }

  @Override
  public Iterable<Path> getRootDirectories() {
    List<Path> roots = new ArrayList<>();
    delegate.getRootDirectories().forEach(r -> roots.add(new CrashPath(this, r)));
    return roots;
  }

  @Override
  public Iterable<FileStore> getFileStores() {
    List<FileStore> stores = new ArrayList<>();
    delegate.getFileStores().forEach(s -> stores.add(new CrashFileStore(this, s)));
    return stores;
  }

  @Override
  public Set<String> supportedFileAttributeViews() {
    return delegate.supportedFileAttributeViews();
  }

  @Override
  public Path getPath(String first, String... more) {
    return new CrashPath(this, delegate.getPath(first, more));
  }

  @Override
  public PathMatcher getPathMatcher(String syntaxAndPattern) {
    PathMatcher m = delegate.getPathMatcher(syntaxAndPattern);
    return p -> m.matches(CrashPath.unwrap(p));
  }

  @Override
  public UserPrincipalLookupService getUserPrincipalLookupService() {
    return delegate.getUserPrincipalLookupService();
  }

  @Override
  public WatchService newWatchService() {
    throw new UnsupportedOperationException("CrashFileSystem does not watch folders");
  }
}
