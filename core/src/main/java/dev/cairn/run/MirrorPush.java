package dev.cairn.run;

import dev.cairn.run.MirrorLayout.Kind;
import dev.cairn.run.MirrorLayout.RemoteObject;
import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One writer's push passes of a run folder to its remote copy, in the layout of {@link RunMirror}.
 * Not thread-safe: {@link RunMirror} runs one pass at a time. What the remote holds is learnt per
 * file the first time a pass meets it, so a new process (a restarted job) goes on from where the
 * last one stopped and repairs what it left half-written.
 */
final class MirrorPush {
  private static final int CHUNK = 64 << 10;

  private final Path local;
  private final Storage remote;
  private final Map<String, AppendState> appends = new HashMap<>();
  private final Map<String, WholeState> wholes = new HashMap<>();
  private final Set<String> folders = new HashSet<>();

  MirrorPush(Path local, Storage remote) {
    this.local = local;
    this.remote = remote;
  }

  /** A failure to mirror one file, naming where on the remote it was going. */
  static final class Failure extends IOException {
    private static final long serialVersionUID = 1L;
    private final String location;

    Failure(String location, IOException cause) {
      super("could not mirror to " + location + ": " + cause.getMessage(), cause);
      this.location = location;
    }

    String location() {
      return location;
    }
  }

  /** What a pushed append-only file's remote holds. */
  private static final class AppendState {
    long pushed;
    final List<RemoteObject> segments = new ArrayList<>();
  }

  /** What a pushed whole file's remote holds and what was last seen locally. */
  private static final class WholeState {
    final List<RemoteObject> versions = new ArrayList<>();
    long nextSeq;
    RemoteObject remoteNewest;
    byte[] hash;
    Object seenKey;
  }

  /**
   * Pushes every mirrored file; a failure on one file does not stop the others. Throws the first
   * failure (a {@link Failure}), the others suppressed.
   */
  void pass() throws IOException {
    IOException first = null;
    Set<String> present = new TreeSet<>(localFiles());
    List<String> order = new ArrayList<>(present);
    // run.json first: a remote that holds anything then holds a run (RunMirror.exists), so a new
    // machine pulls it rather than starting afresh over a first pass that died halfway.
    if (order.remove("run.json")) {
      order.add(0, "run.json");
    }
    for (String name : order) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedIOException("the mirror was stopped during a push pass");
      }
      Kind kind = MirrorLayout.kind(name);
      String folder = name + (kind == Kind.WHOLE ? MirrorLayout.VERSIONS : MirrorLayout.PARTS);
      try {
        if (kind == Kind.WHOLE) {
          pushWhole(name, folder);
        } else {
          pushAppend(name, folder, kind == Kind.LINES);
        }
      } catch (NoSuchFileException e) {
        if (Files.exists(local.resolve(name))) {
          first = keep(first, new Failure(remote.location(folder), e));
        }
        // Else the local file went between the listing and the read: the next pass sees it gone.
      } catch (IOException e) {
        first = keep(first, new Failure(remote.location(folder), e));
      }
    }
    first = forgetDeleted(present, first);
    if (first != null) {
      throw first;
    }
  }

  private static IOException keep(IOException first, IOException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }

  /**
   * Whole files this writer pushed and that are gone locally (plots the run pruned) are deleted
   * from the remote too. Only those: a file never seen locally by this process may be one it has
   * not pulled, and is left alone.
   */
  private IOException forgetDeleted(Set<String> present, IOException first) {
    for (var it = wholes.keySet().iterator(); it.hasNext(); ) {
      String name = it.next();
      if (!present.contains(name) && !Files.exists(local.resolve(name))) {
        String folder = name + MirrorLayout.VERSIONS;
        try {
          remote.deleteTree(folder);
          it.remove();
        } catch (IOException e) {
          first = keep(first, new Failure(remote.location(folder), e));
        }
      }
    }
    return first;
  }

  /** The mirrored files of the run folder, by name relative to it. */
  private List<String> localFiles() throws IOException {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(local)) {
      return out;
    }
    Files.walkFileTree(
        local,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
            if (dir.equals(local)) {
              return FileVisitResult.CONTINUE;
            }
            // A folder is skipped when a file directly in it would be excluded for its path.
            return MirrorLayout.kind(relative(dir) + "/x") == Kind.EXCLUDED
                ? FileVisitResult.SKIP_SUBTREE
                : FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            String name = relative(file);
            if (attrs.isRegularFile() && MirrorLayout.kind(name) != Kind.EXCLUDED) {
              out.add(name);
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException e) {
            // Deleted while walked (an atomic write's temporary file): nothing to push.
            return FileVisitResult.CONTINUE;
          }
        });
    return out;
  }

  private String relative(Path p) {
    StringBuilder b = new StringBuilder();
    for (Path element : local.relativize(p)) {
      if (b.length() > 0) {
        b.append('/');
      }
      b.append(element);
    }
    return b.toString();
  }

  private void pushAppend(String name, String folder, boolean lines) throws IOException {
    AppendState st = appends.get(name);
    if (st == null) {
      st = discoverAppend(folder);
      appends.put(name, st);
    }
    try (FileChannel ch = FileChannel.open(local.resolve(name), StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < st.pushed) {
        throw new IOException(
            local.resolve(name)
                + " holds "
                + size
                + " bytes but its remote copy already "
                + st.pushed
                + ": it is not the file that was mirrored; pull the run (RunMirror.pull) before"
                + " resuming it on a new machine");
      }
      long end = lines ? lastLineEnd(ch, st.pushed, size) : size;
      if (end > st.pushed) {
        String object = MirrorLayout.objectName(st.pushed, end - st.pushed);
        writeObject(folder, object, ch, st.pushed, end - st.pushed);
        st.segments.add(new RemoteObject(object, st.pushed, end - st.pushed, true));
        st.pushed = end;
      }
      if (st.segments.size() > MirrorLayout.MAX_SEGMENTS) {
        compact(folder, st, ch);
      }
    }
  }

  /**
   * What a previous writer left: the chain of complete segments from 0, and partial segments
   * deleted (this run has one writer, and it is this process now, so nobody else is writing them).
   */
  private AppendState discoverAppend(String folder) throws IOException {
    AppendState st = new AppendState();
    for (RemoteObject s : MirrorLayout.list(remote, folder)) {
      if (s.complete()) {
        st.segments.add(s);
      } else {
        remote.delete(StorageNames.join(folder, s.name()));
      }
    }
    st.pushed = MirrorLayout.chainEnd(st.segments);
    return st;
  }

  /** One segment {@code [0, pushed)} read from the local file replaces all it covers. */
  private void compact(String folder, AppendState st, FileChannel ch) throws IOException {
    String object = MirrorLayout.objectName(0, st.pushed);
    writeObject(folder, object, ch, 0, st.pushed);
    RemoteObject whole = new RemoteObject(object, 0, st.pushed, true);
    List<RemoteObject> left = new ArrayList<>();
    left.add(whole);
    for (RemoteObject s : st.segments) {
      if (s.name().equals(object)) {
        continue;
      }
      if (s.end() <= st.pushed) {
        remote.delete(StorageNames.join(folder, s.name()));
      } else {
        left.add(s);
      }
    }
    st.segments.clear();
    st.segments.addAll(left);
  }

  /** The end of the last whole line in {@code [from, size)}, or {@code from} when there is none. */
  private static long lastLineEnd(FileChannel ch, long from, long size) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8192);
    long end = size;
    while (end > from) {
      long start = Math.max(from, end - b.capacity());
      b.clear().limit((int) (end - start));
      readFully(ch, b, start);
      for (int i = b.limit() - 1; i >= 0; i--) {
        if (b.get(i) == '\n') {
          return start + i + 1;
        }
      }
      end = start;
    }
    return from;
  }

  private void pushWhole(String name, String folder) throws IOException {
    Path file = local.resolve(name);
    WholeState st = wholes.get(name);
    if (st == null) {
      st = discoverWhole(folder);
      wholes.put(name, st);
    }
    BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
    // An atomic replacement is a new file (another key); a rewrite in place changes time or size.
    Object key = Arrays.asList(attrs.fileKey(), attrs.size(), attrs.lastModifiedTime());
    if (key.equals(st.seenKey)) {
      return;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      // Read through one open channel: an atomic replacement meanwhile does not mix two contents.
      long size = ch.size();
      byte[] hash = hash(ch, size);
      if (st.hash == null && st.remoteNewest != null && st.remoteNewest.length() == size) {
        st.hash = remoteHash(StorageNames.join(folder, st.remoteNewest.name()), size);
      }
      if (!Arrays.equals(hash, st.hash)) {
        String object = MirrorLayout.objectName(st.nextSeq, size);
        writeObject(folder, object, ch, 0, size);
        RemoteObject v = new RemoteObject(object, st.nextSeq, size, true);
        st.versions.add(v);
        st.remoteNewest = v;
        st.nextSeq++;
        st.hash = hash;
        while (st.versions.size() > MirrorLayout.KEEP_VERSIONS) {
          remote.delete(StorageNames.join(folder, st.versions.get(0).name()));
          st.versions.remove(0);
        }
      }
    }
    st.seenKey = key;
  }

  private WholeState discoverWhole(String folder) throws IOException {
    WholeState st = new WholeState();
    for (RemoteObject v : MirrorLayout.list(remote, folder)) {
      st.nextSeq = Math.max(st.nextSeq, v.first() + 1);
      if (v.complete()) {
        st.versions.add(v);
      } else {
        remote.delete(StorageNames.join(folder, v.name()));
      }
    }
    st.remoteNewest = MirrorLayout.newestVersion(st.versions);
    return st;
  }

  private byte[] remoteHash(String name, long size) throws IOException {
    MessageDigest md = sha256();
    ByteBuffer b = ByteBuffer.allocate(CHUNK);
    try (Storage.Input in = remote.open(name)) {
      for (long pos = 0; pos < size; ) {
        b.clear().limit((int) Math.min(b.capacity(), size - pos));
        int n = in.read(b, pos);
        if (n < 0) {
          return null;
        }
        md.update(b.array(), 0, n);
        pos += n;
      }
    }
    return md.digest();
  }

  private static byte[] hash(FileChannel ch, long size) throws IOException {
    MessageDigest md = sha256();
    ByteBuffer b = ByteBuffer.allocate(CHUNK);
    for (long pos = 0; pos < size; ) {
      b.clear().limit((int) Math.min(b.capacity(), size - pos));
      readFully(ch, b, pos);
      md.update(b.array(), 0, b.limit());
      pos += b.limit();
    }
    return md.digest();
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /**
   * Writes bytes {@code [position, position + length)} of {@code source} as {@code folder/object}
   * (create, write, sync, close: no rename anywhere). An object already there of the right size was
   * pushed by a process that died before it remembered so; one of the wrong size is a partial
   * leftover of such a process and is rewritten.
   */
  private void writeObject(
      String folder, String object, FileChannel source, long position, long length)
      throws IOException {
    if (folders.add(folder)) {
      try {
        remote.createFolders(folder);
      } catch (IOException | RuntimeException e) {
        folders.remove(folder);
        throw e;
      }
    }
    String name = StorageNames.join(folder, object);
    for (int attempt = 0; ; attempt++) {
      try {
        upload(name, source, position, length);
        return;
      } catch (FileAlreadyExistsException e) {
        long have;
        try {
          have = remote.size(name);
        } catch (NoSuchFileException gone) {
          have = -1;
        }
        if (have == length) {
          return;
        }
        if (attempt > 0) {
          throw e;
        }
        remote.delete(name);
      }
    }
  }

  private void upload(String name, FileChannel source, long position, long length)
      throws IOException {
    // Where the storage cannot refuse to publish a failed write, the next pass finds the partial
    // object by its size and rewrites it.
    remote.write(
        name,
        out -> {
          ByteBuffer b = ByteBuffer.allocate(CHUNK);
          for (long pos = position, end = position + length; pos < end; ) {
            b.clear().limit((int) Math.min(b.capacity(), end - pos));
            readFully(source, b, pos);
            pos += b.limit();
            while (b.hasRemaining()) {
              out.write(b);
            }
          }
        });
  }

  /** Fills {@code b} from {@code position} and flips it; the file must hold those bytes. */
  private static void readFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
    long pos = position;
    while (b.hasRemaining()) {
      int n = ch.read(b, pos);
      if (n < 0) {
        throw new IOException("the local file ended at byte " + pos + " while it was pushed");
      }
      pos += n;
    }
    b.flip();
  }
}
