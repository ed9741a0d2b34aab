package dev.cairn.testkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;

/**
 * A channel that reports writes and fsyncs to the model. Fsync is simulated: the model snapshots
 * the file (or the folder's entries) as durable, and the real disk is not flushed.
 */
final class CrashFileChannel extends FileChannel {
  private final CrashFileSystem fs;
  private final Path path;
  private final boolean dir;
  private final FileChannel inner;

  CrashFileChannel(CrashFileSystem fs, Path path, boolean dir, FileChannel inner) {
    this.fs = fs;
    this.path = path;
    this.dir = dir;
    this.inner = inner;
  }

  private void beforeWrite() throws IOException {
    fs.beforeMutation(FaultHook.Op.WRITE, path);
    fs.modified(path);
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    return inner.read(dst);
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    return inner.read(dsts, offset, length);
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    beforeWrite();
    return inner.write(src);
  }

  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
    beforeWrite();
    return inner.write(srcs, offset, length);
  }

  @Override
  public long position() throws IOException {
    return inner.position();
  }

  @Override
  public FileChannel position(long newPosition) throws IOException {
    inner.position(newPosition);
    return this;
  }

  @Override
  public long size() throws IOException {
    return inner.size();
  }

  @Override
  public FileChannel truncate(long size) throws IOException {
    fs.beforeMutation(FaultHook.Op.TRUNCATE, path);
    inner.truncate(size);
    fs.modified(path);
    return this;
  }

  @Override
  public void force(boolean metaData) throws IOException {
    fs.beforeMutation(dir ? FaultHook.Op.FSYNC_DIR : FaultHook.Op.FSYNC_FILE, path);
    fs.synced(path);
  }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
    return inner.transferTo(position, count, target);
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
    beforeWrite();
    return inner.transferFrom(src, position, count);
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    return inner.read(dst, position);
  }

  @Override
  public int write(ByteBuffer src, long position) throws IOException {
    beforeWrite();
    return inner.write(src, position);
  }

  @Override
  public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
    if (mode != MapMode.READ_ONLY) {
      beforeWrite();
    }
    return inner.map(mode, position, size);
  }

  @Override
  public FileLock lock(long position, long size, boolean shared) throws IOException {
    return inner.lock(position, size, shared);
  }

  @Override
  public FileLock tryLock(long position, long size, boolean shared) throws IOException {
    return inner.tryLock(position, size, shared);
  }

  @Override
  protected void implCloseChannel() throws IOException {
    inner.close();
  }
}
