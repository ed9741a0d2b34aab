package dev.cairn.run;

import dev.cairn.run.MirrorLayout.Kind;
import dev.cairn.run.MirrorLayout.RemoteObject;
import dev.cairn.store.AtomicFile;
import dev.cairn.store.Fsync;
import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

/**
 * Brings a local run folder up to date from its remote copy ({@link RunMirror#pull}): logs grow by
 * what is new, whole files are replaced atomically by their newest complete version.
 */
final class MirrorPull {
  private static final int CHUNK = 64 << 10;

  private final Storage remote;
  private final Path local;

  private MirrorPull(Storage remote, Path local) {
    this.remote = remote;
    this.local = local;
  }

  static void pull(Storage remote, Path local) throws IOException {
    Files.createDirectories(local);
    new MirrorPull(remote, local).folder("");
  }

  private void folder(String folder) throws IOException {
    List<String> names;
    try {
      names = remote.list(folder);
    } catch (NoSuchFileException e) {
      return;
    }
    for (String n : names) {
      String name = StorageNames.join(folder, n);
      if (n.endsWith(MirrorLayout.PARTS)) {
        String file = name.substring(0, name.length() - MirrorLayout.PARTS.length());
        Kind kind = MirrorLayout.kind(file);
        if (kind == Kind.LINES || kind == Kind.BYTES) {
          withOneRetry(() -> appendNew(name, local.resolve(file)));
        }
      } else if (n.endsWith(MirrorLayout.VERSIONS)) {
        String file = name.substring(0, name.length() - MirrorLayout.VERSIONS.length());
        if (MirrorLayout.kind(file) == Kind.WHOLE) {
          withOneRetry(() -> replaceWhole(name, local.resolve(file)));
        }
      } else if (MirrorLayout.kind(name + "/x") != Kind.EXCLUDED && remote.isFolder(name)) {
        folder(name);
      }
    }
  }

  @FunctionalInterface
  private interface Step {
    void run() throws IOException;
  }

  /**
   * A remote object can vanish between the listing and the read (the writer compacted segments or
   * dropped an old version); the second listing shows what replaced it.
   */
  private static void withOneRetry(Step step) throws IOException {
    try {
      step.run();
    } catch (NoSuchFileException e) {
      step.run();
    }
  }

  /**
   * Appends the remote chain past the local file's end. A local file longer than the chain is left
   * alone (it is newer). On failure the local file is cut back to the last whole segment appended,
   * so it never ends inside a record.
   */
  private void appendNew(String folder, Path file) throws IOException {
    List<RemoteObject> segments = MirrorLayout.list(remote, folder);
    long size = Files.isRegularFile(file) ? Files.size(file) : 0;
    if (MirrorLayout.covering(segments, size) == null) {
      return;
    }
    createParent(file);
    try (FileChannel out =
        FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      long done = out.size();
      try {
        for (RemoteObject s = MirrorLayout.covering(segments, done);
            s != null;
            s = MirrorLayout.covering(segments, done)) {
          copy(StorageNames.join(folder, s.name()), done - s.first(), s.end() - done, out, done);
          done = s.end();
        }
        Fsync.channel(out);
      } catch (IOException | RuntimeException e) {
        try {
          out.truncate(done);
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      }
    }
  }

  private static void createParent(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
  }

  private void copy(String name, long from, long length, FileChannel out, long at)
      throws IOException {
    ByteBuffer b = ByteBuffer.allocate(CHUNK);
    try (Storage.Input in = remote.open(name)) {
      for (long done = 0; done < length; ) {
        b.clear().limit((int) Math.min(b.capacity(), length - done));
        int n = in.read(b, from + done);
        if (n < 0) {
          throw new EOFException(remote.location(name) + " ends before byte " + (from + done));
        }
        b.flip();
        while (b.hasRemaining()) {
          out.write(b, at + done + b.position());
        }
        done += n;
      }
    }
  }

  private void replaceWhole(String folder, Path file) throws IOException {
    RemoteObject newest = MirrorLayout.newestVersion(MirrorLayout.list(remote, folder));
    if (newest == null) {
      return;
    }
    String name = StorageNames.join(folder, newest.name());
    if (sameContent(name, newest.length(), file)) {
      return;
    }
    createParent(file);
    try (Storage.Input in = remote.open(name)) {
      AtomicFile.write(
          file,
          out -> {
            ByteBuffer b = ByteBuffer.allocate(CHUNK);
            for (long pos = 0; pos < newest.length(); ) {
              b.clear().limit((int) Math.min(b.capacity(), newest.length() - pos));
              int n = in.read(b, pos);
              if (n < 0) {
                throw new EOFException(remote.location(name) + " ends before byte " + pos);
              }
              out.write(b.array(), 0, n);
              pos += n;
            }
          },
          AtomicFile.Sync.DURABLE);
    }
  }

  private boolean sameContent(String name, long length, Path file) throws IOException {
    if (!Files.isRegularFile(file) || Files.size(file) != length) {
      return false;
    }
    ByteBuffer b = ByteBuffer.allocate(CHUNK);
    byte[] mine = new byte[CHUNK];
    try (Storage.Input in = remote.open(name);
        InputStream local = Files.newInputStream(file)) {
      for (long pos = 0; pos < length; ) {
        b.clear().limit((int) Math.min(b.capacity(), length - pos));
        int n = in.read(b, pos);
        if (n < 0) {
          return false;
        }
        if (local.readNBytes(mine, 0, n) != n || !Arrays.equals(b.array(), 0, n, mine, 0, n)) {
          return false;
        }
        pos += n;
      }
    }
    return true;
  }
}
